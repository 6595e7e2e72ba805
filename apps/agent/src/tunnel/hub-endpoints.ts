// Which hub node the tunnel dials. A cluster's nodes share the hub's WireGuard key, so the agent may
// handshake with any of them: the registration answer and the hub's policy messages list every live
// node's endpoint, and when the current node stops answering the agent moves to another one (same
// key, new endpoint, new handshake). A single hub lists one endpoint and nothing here changes.
// Pure logic (random source passed in); the supervisor asks it where to go and reports back.

export interface HubEndpointsSnapshot {
  /** Every endpoint the hub last listed ("host:port"), in the hub's order. */
  endpoints: string[];
  /** The one the tunnel dials now. */
  current: string;
}

export interface HubEndpointsOptions {
  /** The registration's `hub.endpoint`: always dialable, the fallback when no list is known. */
  registered: string;
  /** The list and current endpoint kept in the state file from an earlier run, if any. */
  stored?: HubEndpointsSnapshot | undefined;
  random: () => number;
  /** Called when the list or the current endpoint changed (to persist it). */
  onChange?: (snapshot: HubEndpointsSnapshot) => void;
}

export class HubEndpoints {
  readonly #o: HubEndpointsOptions;
  #list: string[];
  #current: string;
  /** Endpoints tried and failed since the last handshake: a failover never goes back to them in one round. */
  readonly #failed = new Set<string>();
  /** A leaving node (a `move` named it): never dialled again until a hub lists it anew. */
  readonly #avoid = new Set<string>();

  constructor(options: HubEndpointsOptions) {
    this.#o = options;
    const stored = options.stored;
    this.#list = stored && stored.endpoints.length > 0 ? dedupe(stored.endpoints) : [options.registered];
    this.#current = stored?.current ?? this.#list[0]!;
  }

  current(): string {
    return this.#current;
  }

  list(): string[] {
    return [...this.#list];
  }

  /** More than one node: failover is possible, so liveness is watched closely. */
  get clustered(): boolean {
    return this.#list.length > 1;
  }

  snapshot(): HubEndpointsSnapshot {
    return { endpoints: this.list(), current: this.#current };
  }

  /**
   * A list from the hub (registration answer, report answer, policy push). The current endpoint is
   * kept while it works, even if the list names it differently; a listed endpoint is no longer
   * avoided. An empty or identical list changes nothing.
   */
  update(endpoints: readonly string[]): boolean {
    const list = dedupe(endpoints);
    if (list.length === 0) return false;
    for (const e of list) this.#avoid.delete(e);
    if (same(list, this.#list)) return false;
    this.#list = list;
    this.#o.onChange?.(this.snapshot());
    return true;
  }

  /**
   * The current endpoint failed (no answer, handshake gave up, socket error). Picks another node
   * not yet tried since the last handshake, at random so one dead node's devices spread over the
   * others; undefined when every node was tried this round (the supervisor then backs off and the
   * round starts again from the current endpoint).
   */
  failover(): string | undefined {
    this.#failed.add(this.#current);
    const candidates = this.#list.filter((e) => !this.#failed.has(e) && !this.#avoid.has(e));
    if (candidates.length === 0) {
      this.#failed.clear();
      return undefined;
    }
    const next = candidates[Math.min(candidates.length - 1, Math.floor(this.#o.random() * candidates.length))]!;
    this.#setCurrent(next);
    return next;
  }

  /** Whether a failover now would find an untried node (the supervisor shortens its deadlines then). */
  untriedRemain(): boolean {
    return this.#list.some((e) => e !== this.#current && !this.#failed.has(e) && !this.#avoid.has(e));
  }

  /** A handshake completed on the current endpoint: every node may be tried again next time. */
  succeeded(): void {
    this.#failed.clear();
  }

  /**
   * The hub's `move`: the node at `from` is leaving. Takes the first of `endpoints` that is not
   * avoided (the hub's suggestion) and remembers `from` as avoided; undefined when none is left
   * (then the agent stays where it is until the node goes silent).
   */
  move(from: string, endpoints: readonly string[]): string | undefined {
    this.#avoid.add(from);
    const list = dedupe(endpoints).filter((e) => !this.#avoid.has(e));
    if (list.length === 0) return undefined;
    // Keep the known list complete: the leaving node may still be listed by the next policy.
    const merged = dedupe([...list, ...this.#list.filter((e) => e !== from)]);
    if (!same(merged, this.#list)) this.#list = merged;
    this.#failed.clear();
    this.#setCurrent(list[0]!);
    return list[0];
  }

  #setCurrent(endpoint: string): void {
    if (endpoint === this.#current) return;
    this.#current = endpoint;
    this.#o.onChange?.(this.snapshot());
  }
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

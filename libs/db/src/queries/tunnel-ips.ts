// Race-free tunnel-address allocation. Reuse first: the lowest deleted address, taken with
// FOR UPDATE SKIP LOCKED so concurrent allocators never wait on or share one. Otherwise the pool's
// counter row is advanced by one upsert, whose row lock lasts until commit: a second transaction
// waits and then sees the advanced value. The unique indexes on tunnel_ip back this up.
import { sql } from 'drizzle-orm';
import { resultRows, type Executor } from '../database.js';

export interface AddressPool {
  cidr: string;
  firstIp: string;
  lastIp: string;
}

/** Hands out one address of `pool`, undefined when it is exhausted; must run inside the transaction that stores it. */
export async function allocateTunnelIp(ex: Executor, pool: AddressPool): Promise<string | undefined> {
  // One round trip: the free list first; only when it yields nothing does the counter move.
  const [row] = resultRows<{ address: string }>(
    await ex.execute(sql`
      with reused as (
        delete from free_tunnel_ips where address = (
          select address from free_tunnel_ips where cidr = ${pool.cidr}
          order by address limit 1 for update skip locked)
        returning address),
      fresh as (
        insert into overlay_pools as p (cidr, next_address)
        select ${pool.cidr}, ${pool.firstIp}::inet + 1 where not exists (select 1 from reused)
        on conflict (cidr) do update set next_address = p.next_address + 1
          where p.next_address <= ${pool.lastIp}::inet
        returning p.next_address - 1 as address)
      select host(address) as address from reused
      union all
      select host(address) as address from fresh`),
  );
  return row?.address;
}

/** Gives `address` back to `pool` after a deliberate delete (addresses of an older pool are dropped). */
export async function freeTunnelIp(ex: Executor, pool: AddressPool, address: string): Promise<void> {
  await ex.execute(sql`
    insert into free_tunnel_ips (address, cidr)
    select ${address}::inet, ${pool.cidr}
    where ${address}::inet between ${pool.firstIp}::inet and ${pool.lastIp}::inet
    on conflict (address) do nothing`);
}

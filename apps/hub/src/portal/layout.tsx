/** @jsxImportSource hono/jsx */
// The portal's one layout and stylesheet (no client script, no external assets: the CSP allows only
// inline style): skip link, role-aware navigation, visible focus, WCAG AA contrast, tables that
// scroll sideways on narrow screens, and small shared pieces (status dot, times, hidden CSRF field).
import type { Child, FC, JSX } from 'hono/jsx';
import { ago, formatTime } from './format.js';

const STYLE = `
:root{--fg:#1d2329;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--accent:#0b5cad;--ok:#1a7f37;--bad:#b42318}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
a{color:var(--accent)}
.skip{position:absolute;left:-9999px;top:.5rem}.skip:focus{left:.5rem;background:#fff;color:var(--accent);padding:.4rem .8rem;z-index:2}
header{background:#0f2a44;color:#fff}header a{color:#fff}
.bar{max-width:76rem;margin:0 auto;padding:.55rem 1rem;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;align-items:center}
.brand{font-weight:700;text-decoration:none;font-size:1.1rem}
header nav ul{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;margin:0;padding:0}
header nav a{text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
header nav a:hover{border-bottom-color:#9cc9ef}header nav a[aria-current=page]{border-bottom-color:#7cc4ff;font-weight:600}
.who{margin-left:auto;display:flex;gap:.6rem;align-items:center;font-size:.9rem}
.who button{background:transparent;border:1px solid #9cb3c9;color:#fff;padding:.15rem .6rem;margin:0}
.bar.admin{padding-top:.3rem;padding-bottom:.45rem;border-top:1px solid #29486a;font-size:.95rem}.bar.admin .label{color:#b6cde3;font-size:.8rem;text-transform:uppercase;letter-spacing:.06em}
main{max-width:76rem;margin:0 auto;padding:1.5rem 1rem 3rem}main.narrow{max-width:34rem}
h1{font-size:1.55rem;margin:.3rem 0 1rem;line-height:1.25}h2{font-size:1.15rem;margin:2rem 0 .6rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:500}
input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #8c959f;border-radius:4px;max-width:100%;background:#fff;color:var(--fg)}
main.narrow input:not([type=checkbox]):not([type=radio]),.wide{width:100%}
textarea{width:100%;font-family:ui-monospace,monospace;font-size:.85rem}
input[type=checkbox],input[type=radio]{width:1.1rem;height:1.1rem;vertical-align:middle;margin:0 .3rem 0 0}
button,.button{font:inherit;padding:.4rem 1rem;margin:.8rem .5rem 0 0;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block;line-height:1.4}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
button.approve{background:var(--ok);border-color:var(--ok);font-weight:600}button.deny{color:var(--bad);border-color:var(--bad)}
button.small{padding:.1rem .55rem;margin:0;font-size:.9rem}
:focus-visible{outline:3px solid #e8a317;outline-offset:2px}
.error{background:#fde8e8;border-left:4px solid var(--bad);padding:.5rem .8rem}
.notice{background:#e6f4ea;border-left:4px solid var(--ok);padding:.5rem .8rem}
.note{color:var(--muted);font-size:.9rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}code{background:#eef1f4;padding:0 .3rem;border-radius:3px;overflow-wrap:anywhere}
pre{background:var(--soft);border:1px solid var(--line);padding:.8rem;overflow-x:auto;font-size:.85rem}
.table{overflow-x:auto;margin:.5rem 0}table{border-collapse:collapse;width:100%;font-size:.93rem}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}th{background:var(--soft);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td code{white-space:nowrap;overflow-wrap:normal}th.pick{width:2.5rem}
.dot{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.35rem;background:#8c959f}
.dot.on{background:var(--ok)}.dot.disabled{background:var(--bad)}
.tag{display:inline-block;background:#ddf4ff;color:#0a3069;border-radius:1rem;padding:0 .55rem;margin:0 .25rem .15rem 0;font-size:.85rem}
.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;background:var(--soft);border:1px solid var(--line);padding:.8rem;border-radius:6px}
.filters label{margin:0 0 .2rem}.filters button{margin:0}
.row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}.row label{margin-top:0}.row button{margin:0}
.inline{display:inline}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.5rem;margin:0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem 2rem}
.panel{border:1px solid var(--line);border-radius:6px;padding:1rem;margin:1rem 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:1rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem}.card .n{font-size:2rem;font-weight:700;line-height:1.2}
.bars{display:flex;align-items:flex-end;gap:3px;height:8rem;border-bottom:1px solid var(--line);padding-top:.5rem}
.bars span{flex:1;background:#54aeff;min-height:1px}
.pager{display:flex;gap:1rem;margin:1rem 0}
.secret{font-family:ui-monospace,monospace;width:100%;padding:.5rem;background:#fff8c5;border:1px solid #d4a72c}
.qr{max-width:18rem;border:1px solid var(--line);padding:.5rem;background:#fff}.qr svg{display:block;width:100%;height:auto}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){dl.facts{grid-template-columns:1fr}dt{margin-top:.4rem}.who{margin-left:0}h1{font-size:1.3rem}
table.stack thead{position:absolute;left:-9999px}table.stack tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}
table.stack td{display:flex;gap:1rem;border:0;padding:.15rem .2rem;text-align:left;overflow-wrap:anywhere;min-width:0}table.stack td::before{content:attr(data-label);flex:0 0 6.5rem;color:var(--muted)}
table.stack td>*{min-width:0}}`;

export interface PageUser {
  email: string;
  role?: 'admin' | 'user';
}

export interface LayoutProps {
  title: string;
  user?: PageUser | undefined;
  csrf?: string | undefined;
  /** Which navigation entry is the current page (its href). */
  current?: string;
  /** Forms and messages only: a narrow column. */
  narrow?: boolean;
  /** Reload the page every N seconds (the live overview; no script needed). */
  refreshSeconds?: number;
  children?: Child;
}

const OWNER_NAV: [string, string][] = [
  ['/devices', 'My devices'],
  ['/claim', 'Connect a device'],
  ['/orgs', 'Organisations'],
  ['/account/password', 'Password'],
];
const ADMIN_NAV: [string, string][] = [
  ['/admin', 'Overview'],
  ['/admin/devices', 'All devices'],
  ['/admin/access-log', 'Access log'],
  ['/admin/enrollment-tokens', 'Enrollment tokens'],
  ['/admin/api-tokens', 'API tokens'],
  ['/admin/peers', 'WireGuard peers'],
  ['/admin/serial-reservations', 'Reserved serials'],
  ['/admin/cluster', 'Hub nodes'],
  ['/admin/users', 'Users'],
];

/** A navigation list; the entry of the current page is marked for screen readers and by style. */
const Nav: FC<{ label: string; links: [string, string][]; current?: string | undefined }> = (p) => (
  <nav aria-label={p.label}>
    <ul>
      {p.links.map(([href, label]) => (
        <li>
          <a href={href} aria-current={p.current === href ? 'page' : undefined}>
            {label}
          </a>
        </li>
      ))}
    </ul>
  </nav>
);

export const Layout: FC<LayoutProps> = (props) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      {props.refreshSeconds ? <meta http-equiv="refresh" content={String(props.refreshSeconds)} /> : null}
      <title>{props.title} · Porthole</title>
      <style>{STYLE}</style>
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <div class="bar">
          <a class="brand" href="/">
            Porthole
          </a>
          {props.user ? <Nav label="Main" links={OWNER_NAV} current={props.current} /> : null}
          {props.user && props.csrf ? (
            <form method="post" action="/logout" class="who">
              <span>{props.user.email}</span>
              <input type="hidden" name="_csrf" value={props.csrf} />
              <button type="submit">Log out</button>
            </form>
          ) : null}
        </div>
        {/* Administration on a row of its own: one line each at laptop widths, instead of one long row that wraps. */}
        {props.user?.role === 'admin' ? (
          <div class="bar admin">
            <span class="label" aria-hidden="true">
              Admin
            </span>
            <Nav label="Administration" links={ADMIN_NAV} current={props.current} />
          </div>
        ) : null}
      </header>
      <main id="main" class={props.narrow ? 'narrow' : undefined}>
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </body>
  </html>
);

/**
 * Field names that registry and API messages start with ("publicKey must be …"), as the portal's
 * forms label them: a person reads "Public key must be …".
 */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  publicKey: 'Public key',
  email: 'E-mail address',
  password: 'Password',
  newPassword: 'New password',
  currentPassword: 'Current password',
  serial: 'Serial',
  userCode: 'Code',
  maxUses: 'Devices it may enroll',
  expiresAt: 'Expiry',
  expiresInSeconds: 'Expiry',
  description: 'Description',
  prefix: 'Prefix',
  name: 'Name',
  tags: 'Tags',
  scopes: 'Scopes',
};

/** A domain message with a leading field name in the words of the form. */
export function formMessage(message: string): string {
  const m = /^([a-z][A-Za-z]*)(?=[ :])/.exec(message);
  const label = m && Object.hasOwn(FIELD_LABELS, m[1]!) ? FIELD_LABELS[m[1]!] : undefined;
  return label ? `${label}${message.slice(m![1]!.length)}` : message;
}

export const ErrorNote: FC<{ message?: string | undefined }> = ({ message }) =>
  message ? (
    <p class="error" role="alert">
      {formMessage(message)}
    </p>
  ) : null;

export const Notice: FC<{ message?: string | undefined }> = ({ message }) => (message ? <p class="notice" role="status">{message}</p> : null);

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

/** Online state as colour AND text (never colour alone). */
export const StateDot: FC<{ online: boolean; status: 'enabled' | 'disabled' }> = ({ online, status }) =>
  status === 'disabled' ? (
    <span>
      <span class="dot disabled" aria-hidden="true" />
      disabled
    </span>
  ) : (
    <span>
      <span class={online ? 'dot on' : 'dot'} aria-hidden="true" />
      {online ? 'online' : 'offline'}
    </span>
  );

/** A time as "3 min ago" with the exact UTC time in `datetime` and a tooltip. */
export const When: FC<{ iso: string | null; now: Date; never?: string }> = ({ iso, now, never }) =>
  iso ? (
    <time datetime={iso} title={formatTime(iso)}>
      {ago(iso, now)}
    </time>
  ) : (
    <span class="note">{never ?? 'never'}</span>
  );

export const Tags: FC<{ tags: readonly string[] }> = ({ tags }) =>
  tags.length ? (
    <span>
      {tags.map((t) => (
        <span class="tag">{t}</span>
      ))}
    </span>
  ) : (
    <span class="note">—</span>
  );

/** What every signed-in page is given: the viewer, the form token and the messages after a redirect. */
export interface PageView {
  user: PageUser;
  csrf: string;
  notice?: string | undefined;
  error?: string | undefined;
}

/** A signed-in page in the layout, with the notice and the error of the action that led here on top. */
export const Page: FC<{ view: PageView; title: string; current?: string; narrow?: boolean; children?: Child }> = (p) => (
  <Layout title={p.title} user={p.view.user} csrf={p.view.csrf} current={p.current} narrow={p.narrow}>
    <Notice message={p.view.notice} />
    <ErrorNote message={p.view.error} />
    {p.children}
  </Layout>
);

/** A column heading; `num` right-aligns a column of numbers; `pick` is a column of checkboxes, its label for screen readers only. */
export type Column = string | { label: string; num: true } | { label: string; pick: true };

const Heading: FC<{ column: Column }> = ({ column }) =>
  typeof column === 'string' ? (
    <th scope="col">{column}</th>
  ) : 'num' in column ? (
    <th scope="col" class="num">
      {column.label}
    </th>
  ) : (
    <th scope="col" class="pick">
      <span class="visually-hidden">{column.label}</span>
    </th>
  );

/**
 * A table that scrolls sideways on narrow screens, its rows the children. `actions` adds a last
 * column for per-row buttons; `stack` turns rows into cards on phones.
 */
export const Table: FC<{ columns: readonly Column[]; actions?: boolean; stack?: boolean; caption?: Child; children?: Child }> = (p) => (
  <div class="table">
    <table class={p.stack ? 'stack' : undefined}>
      {p.caption ? <caption class="visually-hidden">{p.caption}</caption> : null}
      <thead>
        <tr>
          {p.columns.map((column) => (
            <Heading column={column} />
          ))}
          {p.actions ? (
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>{p.children}</tbody>
    </table>
  </div>
);

/** A list as a Table, or the `empty` note when there are no rows. */
export const ListTable: FC<{ rows: readonly unknown[]; empty: Child; columns: readonly Column[]; actions?: boolean; stack?: boolean; caption?: Child; children?: Child }> = ({ rows, empty, ...table }) =>
  rows.length === 0 ? <p class="note">{empty}</p> : <Table {...table} />;

/** A table cell with a time, as When shows it. */
export const WhenCell: FC<{ iso: string | null; now: Date; never?: string }> = (p) => (
  <td>
    <When {...p} />
  </td>
);

/** A labelled input in a `<div>` of its own (styled by `rowStyle`): `label`, then the input with the rest of the props. */
export const InputField: FC<{ label: Child; rowStyle?: string } & JSX.IntrinsicElements['input'] & { id: string }> = ({ label, rowStyle, ...input }) => (
  <div style={rowStyle}>
    <label for={input.id}>{label}</label>
    <input {...input} />
  </div>
);

/** One button that posts a form (with its CSRF token and any hidden fields): revoke, remove, release. */
export const PostButton: FC<{
  action: string;
  csrf: string;
  /** What a screen reader says: which row the button acts on. */
  label: string;
  class?: string;
  formClass?: string;
  formStyle?: string;
  fields?: Readonly<Record<string, string>>;
  children?: Child;
}> = (p) => (
  <form method="post" action={p.action} class={p.formClass} style={p.formStyle}>
    <Csrf token={p.csrf} />
    {Object.entries(p.fields ?? {}).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" class={p.class} aria-label={p.label}>
      {p.children}
    </button>
  </form>
);

/** A small revoke button in a table row. */
export const RevokeButton: FC<{ action: string; csrf: string; label: string; fields?: Readonly<Record<string, string>> }> = (p) => (
  <PostButton action={p.action} csrf={p.csrf} label={p.label} fields={p.fields} class="small secondary" formClass="inline">
    Revoke
  </PostButton>
);

/** A labelled drop-down of fixed choices (durations, roles); `name` defaults to the id. */
export const SelectField: FC<{ id: string; name?: string; label: Child; options: readonly { value: string; label: string }[]; selected: string }> = (p) => (
  <>
    <label for={p.id}>{p.label}</label>
    <select id={p.id} name={p.name ?? p.id}>
      {p.options.map((o) => (
        <option value={o.value} selected={o.value === p.selected}>
          {o.label}
        </option>
      ))}
    </select>
  </>
);

/** A create form in a panel under its own heading: the fields in a row, a note, the submit button. */
export const CreateForm: FC<{ heading: string; action: string; csrf: string; submit: string; note?: Child; children?: Child }> = (p) => (
  <>
    <h2 id="new-h">{p.heading}</h2>
    <form method="post" action={p.action} class="panel" aria-labelledby="new-h">
      <Csrf token={p.csrf} />
      <div class="row">{p.children}</div>
      {p.note ? <p class="note">{p.note}</p> : null}
      <button type="submit">{p.submit}</button>
    </form>
  </>
);

/** A section's add or change form in a panel, its heading inside: a row of fields, the submit button. */
export const PanelForm: FC<{ id: string; heading: string; action: string; csrf: string; submit: string; children?: Child }> = (p) => (
  <form method="post" action={p.action} class="panel" aria-labelledby={p.id}>
    <h3 id={p.id}>{p.heading}</h3>
    <Csrf token={p.csrf} />
    <div class="row">{p.children}</div>
    <button type="submit">{p.submit}</button>
  </form>
);

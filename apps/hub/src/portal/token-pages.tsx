/** @jsxImportSource hono/jsx */
// Enrollment-token and API-token pages: a create form, the list with state and a revoke button,
// and the one response that shows a new token's plaintext (it is stored only as a hash).
import type { FC } from 'hono/jsx';
import type { ApiTokenInfo, EnrollmentTokenInfo } from '../registry/index.js';
import type { ViewBase } from './device-pages.js';
import { API_TOKEN_DURATIONS, ENROLLMENT_DURATIONS } from './format.js';
import { CreateForm, InputField, ListTable, Page, RevokeButton, SelectField, Tags, When, WhenCell } from './layout.js';

/** The plaintext of a token just created: shown in this response only. */
export const SecretOnce: FC<{ label: string; value: string; usage: string }> = (p) => (
  <section class="panel" aria-labelledby="secret-h" style="border-color:#d4a72c">
    <h2 id="secret-h" style="margin-top:0">
      {p.label}
    </h2>
    <p>
      <strong>Copy it now: it is shown only this once.</strong> Porthole keeps only a hash.
    </p>
    <label for="secret" class="visually-hidden">
      {p.label}
    </label>
    <input id="secret" class="secret" type="text" readonly value={p.value} autofocus />
    <p class="note">{p.usage}</p>
  </section>
);

const StateText: FC<{ state: string }> = ({ state }) => <span class={state === 'active' ? undefined : 'note'}>{state}</span>;

export interface EnrollmentForm {
  description?: string;
  maxUses?: string;
  duration?: string;
  tags?: string;
}

export const EnrollmentTokensPage: FC<ViewBase & { tokens: EnrollmentTokenInfo[]; created?: { token: string; info: EnrollmentTokenInfo }; form?: EnrollmentForm }> = (p) => (
  <Page view={p} title="Enrollment tokens" current="/admin/enrollment-tokens">
    {p.created ? (
      <SecretOnce
        label={`New enrollment token ${p.created.info.displayPrefix}`}
        value={p.created.token}
        usage={`Give it to devices as their enrollment token; it enrolls up to ${p.created.info.maxUses} device(s) until ${p.created.info.expiresAt.slice(0, 16).replace('T', ' ')} UTC.`}
      />
    ) : null}
    <CreateForm heading="New token" action="/admin/enrollment-tokens" csrf={p.csrf} submit="Create enrollment token">
      <InputField label="Description" rowStyle="flex:2 1 14rem" id="description" name="description" type="text" class="wide" maxlength={200} value={p.form?.description ?? ''} placeholder="Berlin roll-out, batch 3" />
      <InputField label="Devices it may enroll" id="maxUses" name="maxUses" type="number" min={1} max={1000000} required value={p.form?.maxUses ?? '1'} style="width:8rem" />
      <div>
        <SelectField id="duration" label="Valid for" options={ENROLLMENT_DURATIONS} selected={p.form?.duration ?? '1d'} />
      </div>
      <InputField label="Tags for its devices" rowStyle="flex:1 1 12rem" id="tags" name="tags" type="text" class="wide" value={p.form?.tags ?? ''} placeholder="berlin, fleet-a" />
    </CreateForm>
    <h2>Tokens</h2>
    <ListTable rows={p.tokens} empty="No enrollment tokens yet." columns={['Token', 'Description', 'Tags', { label: 'Used', num: true }, 'State', 'Expires']} actions>
      {p.tokens.map((t) => (
        <tr>
          <td class="mono">{t.displayPrefix}…</td>
          <td>{t.description || <span class="note">—</span>}</td>
          <td>
            <Tags tags={t.tags} />
          </td>
          <td class="num">
            {t.uses} / {t.maxUses}
          </td>
          <td>
            <StateText state={t.state} />
          </td>
          <WhenCell iso={t.expiresAt} now={p.now} />
          <td>
            {t.state !== 'revoked' ? (
              <RevokeButton action={`/admin/enrollment-tokens/${t.id}/revoke`} csrf={p.csrf} label={`Revoke enrollment token ${t.displayPrefix}`} />
            ) : null}
          </td>
        </tr>
      ))}
    </ListTable>
  </Page>
);

export const ApiTokensPage: FC<ViewBase & { tokens: ApiTokenInfo[]; created?: { token: string; info: ApiTokenInfo }; name?: string }> = (p) => (
  <Page view={p} title="API tokens" current="/admin/api-tokens">
    {p.created ? (
      <SecretOnce
        label={`New API token “${p.created.info.name}”`}
        value={p.created.token}
        usage="Use it as “Authorization: Bearer <token>” against /api/v1, or with the porthole CLI (porthole login --token)."
      />
    ) : null}
    <CreateForm heading="New token" action="/admin/api-tokens" csrf={p.csrf} submit="Create API token" note={<>The token acts as you ({p.user.email}); only administrators’ tokens may use the admin API.</>}>
      <InputField label="Name" rowStyle="flex:2 1 14rem" id="name" name="name" type="text" class="wide" required maxlength={100} value={p.name ?? ''} placeholder="inventory sync" />
      <fieldset style="border:0;padding:0;margin:0">
        <legend style="font-weight:500;margin-bottom:.2rem">Scopes</legend>
        <label style="display:inline;font-weight:400;margin-right:1rem">
          <input type="checkbox" name="scope" value="read" checked />
          read
        </label>
        <label style="display:inline;font-weight:400">
          <input type="checkbox" name="scope" value="write" />
          write
        </label>
      </fieldset>
      <div>
        <SelectField id="duration" label="Valid for" options={API_TOKEN_DURATIONS} selected="90d" />
      </div>
    </CreateForm>
    <h2>Tokens</h2>
    <ListTable rows={p.tokens} empty="No API tokens yet." columns={['Name', 'Token', 'Scopes', 'Last used', 'Expires', 'State']} actions>
      {p.tokens.map((t) => {
        const expired = t.expiresAt !== null && Date.parse(t.expiresAt) <= p.now.getTime();
        const state = t.revokedAt ? 'revoked' : expired ? 'expired' : 'active';
        return (
          <tr>
            <td>{t.name}</td>
            <td class="mono">{t.displayPrefix}…</td>
            <td>{t.scopes.join(', ')}</td>
            <WhenCell iso={t.lastUsedAt} now={p.now} />
            <td>{t.expiresAt ? <When iso={t.expiresAt} now={p.now} /> : 'never'}</td>
            <td>
              <StateText state={state} />
            </td>
            <td>{state !== 'revoked' ? <RevokeButton action={`/admin/api-tokens/${t.id}/revoke`} csrf={p.csrf} label={`Revoke API token ${t.name}`} /> : null}</td>
          </tr>
        );
      })}
    </ListTable>
  </Page>
);

/** @jsxImportSource hono/jsx */
// The reserved-serials page: serial prefixes that only enrollment tokens may register (account
// claims of such serials are refused), with a form to reserve one and a release button per prefix.
import type { FC } from 'hono/jsx';
import type { SerialReservationInfo } from '../registry/index.js';
import type { ViewBase } from './device-pages.js';
import { CreateForm, InputField, ListTable, Page, PostButton, WhenCell } from './layout.js';

export interface ReservationForm {
  prefix: string;
  description: string;
}

export const ReservationsPage: FC<ViewBase & { reservations: SerialReservationInfo[]; attestation: boolean; form?: ReservationForm }> = (p) => (
  <Page view={p} title="Reserved serials" current="/admin/serial-reservations">
    <p>
      Serials that start with a reserved prefix register only with an enrollment token: an account cannot claim the serial of a genuine device
      before the device registers. Devices already registered are not affected.
    </p>
    <p class="note">
      {p.attestation
        ? 'This hub also requires device attestation: every registration and claim proves its serial with a certificate from the vendor CA.'
        : 'This hub has no device CA (PORTHOLE_DEVICE_CA_FILE), so serials are otherwise first come, first served.'}
    </p>
    <CreateForm heading="Reserve a prefix" action="/admin/serial-reservations" csrf={p.csrf} submit="Reserve prefix">
      <InputField label="Prefix" id="prefix" name="prefix" type="text" required maxlength={63} value={p.form?.prefix ?? ''} placeholder="an1" class="mono" autocomplete="off" spellcheck={false} />
      <InputField label="Description" rowStyle="flex:2 1 14rem" id="description" name="description" type="text" class="wide" maxlength={200} value={p.form?.description ?? ''} placeholder="Example Meters AN1 series" />
    </CreateForm>
    <h2>Reserved prefixes</h2>
    <ListTable rows={p.reservations} empty="No reserved prefixes." columns={['Prefix', 'Description', 'Reserved by', 'Reserved']} actions>
      {p.reservations.map((r) => (
        <tr>
          <td class="mono">{r.prefix}</td>
          <td>{r.description || <span class="note">—</span>}</td>
          <td>{r.createdBy?.email ?? <span class="note">—</span>}</td>
          <WhenCell iso={r.createdAt} now={p.now} />
          <td>
            <PostButton action={`/admin/serial-reservations/${encodeURIComponent(r.prefix)}/delete`} csrf={p.csrf} formStyle="margin:0" class="danger" label={`Release prefix ${r.prefix}`}>
              Release
            </PostButton>
          </td>
        </tr>
      ))}
    </ListTable>
  </Page>
);

// A database row as the API and the portal show it: the fields picked (never a hash or a secret by
// accident: only what is named), each time as an ISO 8601 string.

/** A field's value as shown: a Date becomes its ISO string, a null stays null. */
type Shown<V> = V extends Date ? string : V;

/** The `fields` of `row`, in that order, each Date as its ISO string. */
export function showRow<R extends object, K extends keyof R>(row: R, fields: readonly K[]): { [P in K]: Shown<R[P]> } {
  const shown = {} as { [P in K]: Shown<R[P]> };
  for (const field of fields) {
    const value = row[field];
    shown[field] = (value instanceof Date ? value.toISOString() : value) as Shown<R[typeof field]>;
  }
  return shown;
}

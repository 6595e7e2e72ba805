// Directory search filters: typed input is escaped per RFC 4515 §3 before it reaches a filter, so
// an injection attempt stays one assertion value (the real directory test is test/sso/ldap-sign-in).
import { describe, expect, it } from 'vitest';
import { escapeFilterValue, fillFilter } from './ldap.js';

describe('LDAP filter escaping', () => {
  it('escapes the five characters RFC 4515 reserves and nothing else', () => {
    expect(escapeFilterValue('*)(uid=*')).toBe('\\2a\\29\\28uid=\\2a');
    expect(escapeFilterValue('a\\b\u0000c')).toBe('a\\5cb\\00c');
    expect(escapeFilterValue('jörg.müller@example.com')).toBe('jörg.müller@example.com');
  });

  it('fills every placeholder of a configured filter with escaped values', () => {
    const filter = fillFilter('(&(objectClass=person)(|(uid={username})(mail={username})))', { username: 'x*)(|(objectClass=*', dn: '' });
    expect(filter).toBe('(&(objectClass=person)(|(uid=x\\2a\\29\\28|\\28objectClass=\\2a)(mail=x\\2a\\29\\28|\\28objectClass=\\2a)))');
    // The structure is the configured one: as many unescaped parentheses as the template has.
    expect(filter.replace(/\\[0-9a-f]{2}/g, '').split('(').length).toBe(6);
    expect(fillFilter('(member={dn})', { username: '', dn: 'cn=a\\, b (x),dc=example' })).toBe('(member=cn=a\\5c, b \\28x\\29,dc=example)');
  });
});

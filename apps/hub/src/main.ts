// Entry point of the hub (`npm start`). The only module that touches process (argv, env, exit).
// The hub is not assembled yet: say so loudly instead of failing silently.
const parts = [
  ['libs/wireguard', 'WireGuard-compatible overlay core'],
  ['libs/netstack', 'userspace IPv4/TCP stack'],
  ['libs/db', 'registry database (PGlite / PostgreSQL)'],
  ['apps/hub', 'WireGuard endpoint, router, serial-subdomain proxy, portal'],
];
console.error('Porthole hub: not built yet. Components and their state:');
for (const [dir, what] of parts) console.error(`  ${dir.padEnd(16)} ${what}`);
console.error('See README.md for what works today.');
process.exitCode = 2;

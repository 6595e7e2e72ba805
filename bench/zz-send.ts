import dgram from 'node:dgram';
import { bogusInitiations } from '@porthole/wireguard/testing';
import { encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
const msgs = bogusInitiations(encodeKey(publicKeyFromPrivate(generatePrivateKey())), 512);
const cb = process.env.CB !== 'no';
const socks: dgram.Socket[] = [];
for (let i = 0; i < 256; i++) { const s = dgram.createSocket('udp4'); s.on('error', () => {}); await new Promise<void>((r) => s.bind(0, '127.0.0.1', r)); socks.push(s); }
let sent = 0, next = 0, inFlight = 0;
const one = () => { const k = next++; inFlight++; socks[k & 255]!.send(msgs[k & 511]!, 40000, '127.0.0.1', cb ? () => { inFlight--; sent++; } : undefined); if (!cb) { inFlight--; sent++; } };
const burst = () => { for (let i = 0; i < 256 && inFlight < 4096; i++) one(); setImmediate(burst); };
burst();
let last = process.cpuUsage(); let lastS = 0;
setInterval(() => { const c = process.cpuUsage(last); last = process.cpuUsage(); const cpu = (c.user + c.system) / 1e6; console.log(JSON.stringify({ tx: sent - lastS, cpu: cpu.toFixed(2), usPer: ((cpu * 1e6) / (sent - lastS)).toFixed(2) })); lastS = sent; }, 1000);

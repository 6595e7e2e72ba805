import dgram from 'node:dgram';
const mode = process.env.MODE ?? 'bare';
const s = dgram.createSocket('udp4');
let n = 0;
if (mode === 'bare') s.on('message', () => { n++; });
await new Promise<void>((r) => s.bind(Number(process.env.PORT ?? 40000), '127.0.0.1', r));
try { s.setRecvBufferSize(4 << 20); } catch {}
let last = process.cpuUsage(); let lastN = 0;
setInterval(() => {
  const c = process.cpuUsage(last); last = process.cpuUsage();
  const cpu = (c.user + c.system) / 1e6;
  console.log(JSON.stringify({ rx: n - lastN, cpu: cpu.toFixed(2), usPer: ((cpu * 1e6) / (n - lastN)).toFixed(2) }));
  lastN = n;
}, 1000);

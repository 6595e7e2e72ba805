/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The meter's server-rendered pages: a dashboard (readings, live chart, settings, export,
// firmware upload, link to Remote access) and a login page. Clean and simple on purpose.
import type { FC, PropsWithChildren } from 'hono/jsx';
import { raw } from 'hono/html';
import type { MeterSettings, Reading } from './simulation.js';

const css = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f6f9;color:#1c2333}
header{background:#16324f;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#cfe3ff;text-decoration:none;margin-left:1rem}main{max-width:62rem;margin:1.5rem auto;padding:0 1rem;display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(19rem,1fr))}
section{background:#fff;border:1px solid #dde2ea;border-radius:10px;padding:1rem 1.25rem}h2{font-size:1rem;margin:0 0 .6rem;color:#44506a}
.big{font-size:2rem;font-weight:650}.grid{display:grid;grid-template-columns:1fr 1fr;gap:.4rem 1rem}.label{color:#6b7489;font-size:.85rem}
label{display:block;margin:.35rem 0 .1rem;font-size:.85rem;color:#44506a}input,select{font:inherit;padding:.35rem .5rem;border:1px solid #c8ceda;border-radius:6px;width:100%}
button{font:inherit;background:#1f5fbf;color:#fff;border:0;border-radius:6px;padding:.45rem 1rem;margin-top:.6rem;cursor:pointer}
.wide{grid-column:1/-1}.err{color:#b42318}.ok{color:#067647}svg{width:100%;height:140px;background:#f8fafc;border-radius:6px}
`;

/** The meter's icon (a small gauge), served at /favicon.svg and /favicon.ico. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#16324f"/><path d="M6 22a10 10 0 0 1 20 0" fill="none" stroke="#cfe3ff" stroke-width="3"/><path d="M16 22l6-8" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>`;

export const Shell: FC<PropsWithChildren<{ title: string; loggedIn: boolean; csrf?: string; refreshSeconds?: number | undefined }>> = ({ title, loggedIn, csrf, refreshSeconds, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
      <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      <title>{title}</title>
      <style>{css}</style>
    </head>
    <body>
      <header>
        <strong>{title}</strong>
        <nav>
          <a href="/">Dashboard</a>
          <a href="/remote-access/">Remote access</a>
          {loggedIn ? (
            csrf ? (
              <form method="post" action="/logout" style="display:inline">
                <input type="hidden" name="csrf" value={csrf} />
                <button type="submit" style="margin:0 0 0 1rem;padding:.2rem .6rem;background:#2c4d70">Log out</button>
              </form>
            ) : null
          ) : (
            <a href="/login">Log in</a>
          )}
        </nav>
      </header>
      {children}
    </body>
  </html>
);

const liveScript = `
(function(){
  var el=document.getElementById('live');var pts=initialPower.slice(-120);var max=120;
  function draw(){var top=Math.max.apply(null,pts.concat([100]));
    el.setAttribute('points',pts.map(function(p,i){return (i*(600/(max-1))).toFixed(1)+','+(140-130*p/top).toFixed(1)}).join(' '));}
  draw();
  var ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws');
  ws.onmessage=function(ev){var m=JSON.parse(ev.data);if(m.type!=='reading')return;
    document.getElementById('power').textContent=m.reading.powerW.toFixed(1)+' W';
    pts.push(m.reading.powerW);if(pts.length>max)pts.shift();draw();};
  ws.onclose=function(){document.getElementById('live-state').textContent='(live updates stopped)'};
})();`;

export interface DashboardProps {
  settings: MeterSettings;
  reading: Reading;
  /** Power of the last minutes, oldest first: the chart starts filled, then the WebSocket extends it. */
  history: number[];
  loggedIn: boolean;
  csrf: string | undefined;
  problems?: Record<string, string>;
  notice?: string;
}

export const Dashboard: FC<DashboardProps> = ({ settings, reading, history, loggedIn, csrf, problems, notice }) => (
  <Shell title={settings.name} loggedIn={loggedIn} csrf={csrf}>
    <main>
      <section>
        <h2>Active power</h2>
        <div class="big" id="power">{reading.powerW.toFixed(1)} W</div>
        <div class="label">limit {settings.powerLimitW} W · at {reading.t.slice(11, 19)} UTC</div>
      </section>
      <section>
        <h2>Readings</h2>
        <div class="grid" id="readings">
          <span class="label">Voltage</span><span>{reading.voltageV.toFixed(1)} V</span>
          <span class="label">Current</span><span>{reading.currentA.toFixed(2)} A</span>
          <span class="label">Frequency</span><span>{reading.frequencyHz.toFixed(3)} Hz</span>
          <span class="label">Energy</span><span id="energy">{reading.energyKwh.toFixed(3)} kWh</span>
          <span class="label">Cost</span><span>{((reading.energyKwh * settings.tariffCtPerKwh) / 100).toFixed(2)} €</span>
        </div>
      </section>
      <section class="wide">
        <h2>Live power <span class="label" id="live-state" /></h2>
        <svg viewBox="0 0 600 140" preserveAspectRatio="none"><polyline id="live" fill="none" stroke="#1f5fbf" stroke-width="2" points="" /></svg>
        <noscript><p class="label">The live chart needs JavaScript; the readings above are current when the page loads.</p></noscript>
      </section>
      {notice ? <section class="wide ok" id="notice">{notice}</section> : null}
      <section>
        <h2>Settings</h2>
        {loggedIn && csrf ? (
          <form method="post" action="/settings">
            <input type="hidden" name="csrf" value={csrf} />
            <label for="name">Meter name</label>
            <input id="name" name="name" value={settings.name} />
            {problems?.name ? <div class="err">{problems.name}</div> : null}
            <label for="tariff">Tariff (ct/kWh)</label>
            <input id="tariff" name="tariffCtPerKwh" type="number" step="0.01" value={String(settings.tariffCtPerKwh)} />
            {problems?.tariffCtPerKwh ? <div class="err">{problems.tariffCtPerKwh}</div> : null}
            <label for="limit">Power limit (W)</label>
            <input id="limit" name="powerLimitW" type="number" value={String(settings.powerLimitW)} />
            {problems?.powerLimitW ? <div class="err">{problems.powerLimitW}</div> : null}
            <label for="interval">Live update interval (ms)</label>
            <input id="interval" name="liveIntervalMs" type="number" value={String(settings.liveIntervalMs)} />
            {problems?.liveIntervalMs ? <div class="err">{problems.liveIntervalMs}</div> : null}
            <button type="submit">Save settings</button>
          </form>
        ) : (
          <p class="label">Log in to change settings.</p>
        )}
      </section>
      <section>
        <h2>Export</h2>
        <form method="get" action="/export.csv">
          <label for="mb">Size</label>
          <select id="mb" name="mb">
            {[1, 10, 50, 200, 1024].map((mb) => (
              <option value={String(mb)}>{mb >= 1024 ? `${mb / 1024} GiB` : `${mb} MiB`}</option>
            ))}
          </select>
          <button type="submit">Download CSV</button>
        </form>
      </section>
      <section>
        <h2>Firmware update</h2>
        {loggedIn && csrf ? (
          <form method="post" action={`/firmware?csrf=${encodeURIComponent(csrf)}`} enctype="multipart/form-data">
            <label for="fw">Firmware image</label>
            <input id="fw" type="file" name="firmware" required />
            <button type="submit">Upload</button>
          </form>
        ) : (
          <p class="label">Log in to update the firmware.</p>
        )}
      </section>
    </main>
    <script>{raw(`var initialPower=${JSON.stringify(history)};${liveScript}`)}</script>
  </Shell>
);

export const LoginPage: FC<{ csrf: string; error?: string; name: string; next?: string }> = ({ csrf, error, name, next }) => (
  <Shell title={name} loggedIn={false}>
    <main>
      <section>
        <h2>Log in to the meter</h2>
        {error ? <p class="err">{error}</p> : null}
        <form method="post" action={next ? `/login?next=${encodeURIComponent(next)}` : '/login'}>
          <input type="hidden" name="csrf" value={csrf} />
          <label for="pw">Password</label>
          <input id="pw" type="password" name="password" autocomplete="current-password" required />
          <button type="submit">Log in</button>
        </form>
      </section>
    </main>
  </Shell>
);

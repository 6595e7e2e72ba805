// The SSH terminal page's script (served by the hub, see console-pages.ts): xterm.js in the page, the
// SSH client on the hub (/.porthole/ssh WebSocket). The sign-in form's values go once, in the first
// message, and are cleared from the page; terminal bytes travel as binary messages, control as JSON.
(() => {
  const body = document.body;
  const status = document.getElementById('status');
  const form = document.getElementById('login');
  const screen = document.getElementById('terminal');
  const setState = (state, text) => {
    body.dataset.state = state;
    status.textContent = text;
  };
  const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000, fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  // For tests and assistive tools: the terminal's text as plain lines.
  window.portholeTerminalText = () => {
    const buffer = term.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join('\n');
  };
  let socket;
  setState('login', 'Sign in to start');

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const field = (id) => document.getElementById(id);
    const login = {
      type: 'auth',
      username: field('username').value,
      password: field('password').value,
      privateKey: field('private-key').value,
      passphrase: field('passphrase').value,
    };
    for (const id of ['password', 'private-key', 'passphrase']) field(id).value = '';
    form.hidden = true;
    screen.hidden = false;
    term.open(screen);
    fit.fit();
    setState('connecting', 'Connecting…');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${scheme}//${location.host}${body.dataset.socket}?port=${encodeURIComponent(body.dataset.port)}`);
    socket.binaryType = 'arraybuffer';
    const encoder = new TextEncoder();
    socket.onopen = () => {
      socket.send(JSON.stringify({ ...login, cols: term.cols, rows: term.rows }));
      login.password = login.privateKey = login.passphrase = '';
    };
    socket.onmessage = (m) => {
      if (typeof m.data !== 'string') return term.write(new Uint8Array(m.data));
      const msg = JSON.parse(m.data);
      if (msg.type === 'hostkey') term.writeln(`\x1b[2mHost key ${msg.algorithm} ${msg.fingerprint}\x1b[0m`);
      else if (msg.type === 'ready') {
        setState('connected', 'Connected');
        term.focus();
      } else if (msg.type === 'error') setState('failed', msg.message);
    };
    socket.onclose = () => {
      if (body.dataset.state !== 'failed') setState('closed', 'Session ended');
    };
    term.onData((d) => socket.readyState === WebSocket.OPEN && socket.send(encoder.encode(d)));
    term.onResize(({ cols, rows }) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ type: 'resize', cols, rows })));
    addEventListener('resize', () => fit.fit());
  });
  document.getElementById('disconnect').addEventListener('click', () => socket?.close());
})();

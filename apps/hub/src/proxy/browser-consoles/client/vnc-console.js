// The VNC viewer page's script (served by the hub, see console-pages.ts): noVNC's RFB client on the
// device host's /.porthole/tcp WebSocket, which carries the bytes of one TCP connection to the port.
import RFB from '/.porthole/assets/novnc/core/rfb.js';

const body = document.body;
const status = document.getElementById('status');
const credentials = document.getElementById('vnc-credentials');
const password = document.getElementById('vnc-password');
const setState = (state, text) => {
  body.dataset.state = state;
  status.textContent = text;
};

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
const url = `${scheme}//${location.host}${body.dataset.socket}?port=${encodeURIComponent(body.dataset.port)}`;
const rfb = new RFB(document.getElementById('screen'), url);
rfb.scaleViewport = true;
rfb.resizeSession = false;
rfb.addEventListener('connect', () => setState('connected', 'Connected'));
rfb.addEventListener('disconnect', (e) => setState('disconnected', e.detail.clean ? 'Disconnected' : 'Connection lost (the port may not be exposed, or nothing listens on it)'));
rfb.addEventListener('desktopname', (e) => {
  document.title = `${e.detail.name} · ${document.title}`;
});
rfb.addEventListener('securityfailure', (e) => setState('failed', `Refused by the VNC server: ${e.detail.reason || e.detail.status}`));
rfb.addEventListener('credentialsrequired', () => {
  setState('credentials', 'The VNC server asks for a password');
  credentials.hidden = false;
  password.focus();
});
credentials.addEventListener('submit', (e) => {
  e.preventDefault();
  credentials.hidden = true;
  rfb.sendCredentials({ password: password.value });
  password.value = '';
  setState('connecting', 'Connecting…');
});
document.getElementById('disconnect').addEventListener('click', () => rfb.disconnect());
setState('connecting', 'Connecting…');

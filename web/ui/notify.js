// Browser notifications and a short alert sound made with the Web Audio API (no file).

let audio = null;

// Browsers only let audio start after a user gesture: prepare it on the first one.
function unlock() {
  if (!audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx) audio = new Ctx();
  }
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
}
window.addEventListener("pointerdown", unlock, { capture: true });
window.addEventListener("keydown", unlock, { capture: true });

/** Two soft rising tones, about 0.3 s. */
export function beep() {
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  [[880, 0], [1320, 0.13]].forEach(([freq, at]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + at);
    gain.gain.exponentialRampToValueAtTime(0.18, now + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + at);
    osc.stop(now + at + 0.16);
  });
}

export function notificationsSupported() {
  return "Notification" in window;
}

export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : "denied";
}

export async function askPermission() {
  if (!notificationsSupported() || Notification.permission !== "default") return notificationPermission();
  try {
    return await Notification.requestPermission();
  } catch (e) {
    return notificationPermission();
  }
}

/** Shows a notification (when allowed) and plays the sound. */
export function notify({ title, body, tag, onClick }) {
  beep();
  if (notificationPermission() !== "granted") return;
  try {
    const n = new Notification(title, { body, tag, renotify: !!tag });
    n.onclick = () => {
      window.focus();
      n.close();
      if (onClick) onClick();
    };
  } catch (e) {
    // Some platforms only allow notifications from a service worker; the sound played.
  }
}

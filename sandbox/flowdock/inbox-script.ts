import { SANDBOX_USER_COOKIE } from './sandbox-user';

/**
 * The team inbox page's script. The chosen user ("You are") is kept in a
 * cookie, so the simulator's OAuth consent page can pre-select them.
 *
 * Clicks: an UpdateAction goes to POST /inbox/actions with its index and name
 * (the simulator refuses a click on an action that changed meanwhile); its
 * button stays disabled while the request is in flight, so a double click
 * sends one action.
 *
 * Replies: a thread's form posts to POST /inbox/replies as the chosen user;
 * the form lives outside the parts that updates replace, so typing survives
 * them, and a sent reply refreshes the list at once.
 *
 * Updates: every 1.5 s GET /inbox/threads (JSON, with If-None-Match) gives
 * each thread's article and a hash per part. Only the parts whose hash
 * changed are replaced, in place (open timelines stay open), and nothing is
 * touched while a pointer is pressed in the list: a press that spans an update
 * still ends in a click on the same button.
 */
export const INBOX_SCRIPT = `
const user = document.getElementById('user');
const outcome = document.getElementById('outcome');
const list = document.getElementById('threads');
function remember() {
  document.cookie = '${SANDBOX_USER_COOKIE}=' + encodeURIComponent(user.value) + '; path=/; max-age=31536000; SameSite=Lax';
}
remember();
user.addEventListener('change', remember);

function show(kind, text, link) {
  outcome.className = kind;
  outcome.textContent = text;
  if (link) {
    const a = document.createElement('a');
    a.id = 'challenge-link';
    a.href = link;
    a.target = '_blank';
    a.textContent = 'Link your GitHub account';
    // The bridge performs the click once the link is made: no need to click again.
    outcome.append(' ', a, ' (your click is done once it is linked)');
  }
}

const inFlight = new Set();
const flightKey = (button) => button.dataset.thread + '\\n' + button.dataset.name;
function syncButtons() {
  for (const button of list.querySelectorAll('button.action')) button.disabled = inFlight.has(flightKey(button));
}
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button.action');
  if (!button || button.disabled || inFlight.has(flightKey(button))) return;
  const key = flightKey(button);
  inFlight.add(key);
  syncButtons();
  show('pending', 'Sending "' + button.textContent + '"…');
  try {
    const res = await fetch('/inbox/actions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        thread: button.dataset.thread,
        action: Number(button.dataset.action),
        name: button.dataset.name,
        user: user.value,
      }),
    });
    const answer = await res.json();
    show(answer.outcome, answer.message, answer.outcome === 'challenge' ? answer.url : undefined);
  } catch (error) {
    show('error', 'The simulator did not answer: ' + error);
  } finally {
    inFlight.delete(key);
    syncButtons();
  }
});

document.addEventListener('submit', async (event) => {
  const form = event.target.closest('form.reply');
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector('button');
  const input = form.elements.content;
  if (button.disabled) return;
  button.disabled = true;
  show('pending', 'Sending your reply…');
  try {
    const res = await fetch('/inbox/replies', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ thread: form.dataset.thread, content: input.value, user: user.value }),
    });
    const answer = await res.json();
    if (res.ok) {
      input.value = '';
      show('success', 'Replied');
      refresh();
    } else {
      show('error', 'Reply refused (' + res.status + '): ' + (answer.message || res.statusText));
    }
  } catch (error) {
    show('error', 'The simulator did not answer: ' + error);
  } finally {
    button.disabled = false;
  }
});

let pressed = false;
let pending;
list.addEventListener('pointerdown', () => { pressed = true; });
function release() {
  // After the click the release leads to has been dispatched.
  setTimeout(() => {
    pressed = false;
    if (pending) { const threads = pending; pending = undefined; apply(threads); }
  });
}
addEventListener('pointerup', release);
addEventListener('pointercancel', release);
addEventListener('blur', release);

function parse(html) {
  const template = document.createElement('template');
  template.innerHTML = html;
  return template.content.firstElementChild;
}
function patch(article, thread) {
  if (article.dataset.hash === thread.hash) return article;
  const fresh = parse(thread.html);
  for (const part of fresh.querySelectorAll('[data-part]')) {
    const current = article.querySelector('[data-part="' + part.dataset.part + '"]');
    if (!current) { article.replaceWith(fresh); return fresh; }
    if (current.dataset.hash !== part.dataset.hash) {
      current.replaceChildren(...part.childNodes);
      current.dataset.hash = part.dataset.hash;
    }
  }
  article.dataset.hash = thread.hash;
  return article;
}
function apply(threads) {
  if (pressed) { pending = threads; return; }
  const current = new Map([...list.querySelectorAll('article.thread')].map((a) => [a.dataset.thread, a]));
  let previous = null;
  for (const thread of threads) {
    const existing = current.get(thread.key);
    const article = existing ? patch(existing, thread) : parse(thread.html);
    current.delete(thread.key);
    const expected = previous ? previous.nextElementSibling : list.firstElementChild;
    if (article !== expected) list.insertBefore(article, expected);
    previous = article;
  }
  for (const stale of current.values()) stale.remove();
  const empty = list.querySelector('.empty');
  if (threads.length > 0 && empty) empty.remove();
  if (threads.length === 0 && !empty) list.insertAdjacentHTML('beforeend', '<p class="empty">No threads yet.</p>');
  syncButtons();
}

let etag;
let timer;
async function refresh() {
  clearTimeout(timer);
  try {
    const res = await fetch('/inbox/threads', { cache: 'no-store', headers: etag ? { 'if-none-match': etag } : {} });
    if (res.status === 200) {
      const body = await res.json();
      etag = res.headers.get('etag') || undefined;
      apply(body.threads);
    }
  } catch {
    // The simulator is restarting: try again.
  } finally {
    clearTimeout(timer);
    timer = setTimeout(refresh, 1500);
  }
}
timer = setTimeout(refresh, 1500);
`;

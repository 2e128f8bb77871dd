// Progressive enhancement for Keyward's pages (CSP: no inline scripts).
// - <button data-copy="#id"> copies the text of the element with that id.
// - <form data-confirm="Title" data-confirm-body="…" data-confirm-action="Delete"> asks in a dialog first.
// - <dialog data-modal open> (rendered open for browsers without scripts) becomes a modal dialog.
// - [data-reveal] (a secret shown once) is scrolled into view and focused.
// - <time data-local datetime="…"> shows the viewer's local time.
// - The account navigation collapses behind its "Account menu" button on narrow screens.
document.documentElement.classList.add('js');

function enhance() {
  for (const dialog of document.querySelectorAll('dialog[data-modal][open]')) {
    dialog.close();
    dialog.showModal();
  }
  const reveal = document.querySelector('[data-reveal]');
  if (reveal && !reveal.closest('dialog')) {
    reveal.scrollIntoView({ block: 'center' });
    reveal.focus({ preventScroll: true });
  }
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  for (const t of document.querySelectorAll('time[data-local]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) {
      t.title = t.textContent;
      t.textContent = format.format(d);
    }
  }
  const toggle = document.querySelector('.account-nav .nav-toggle');
  if (toggle) {
    const nav = toggle.closest('.account-nav');
    const current = nav.querySelector('[aria-current=page]');
    if (current) toggle.textContent = `Menu: ${current.textContent}`;
    toggle.hidden = false;
    toggle.addEventListener('click', () => {
      const open = nav.classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    });
  }
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', enhance);
else enhance();

// The user menu closes on Escape and on a click elsewhere.
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  const menu = document.querySelector('details.user-menu[open]');
  if (menu) {
    menu.open = false;
    menu.querySelector('summary').focus();
  }
});
document.addEventListener('click', (event) => {
  const menu = document.querySelector('details.user-menu[open]');
  if (menu && !menu.contains(event.target)) menu.open = false;
});
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const source = document.querySelector(button.getAttribute('data-copy'));
  if (!source) return;
  await navigator.clipboard.writeText(source.value ?? source.textContent.trim());
  const target = button.querySelector('[data-copy-label]') ?? button; // keeps a visually hidden name
  const label = target.textContent;
  target.textContent = 'Copied';
  setTimeout(() => {
    target.textContent = label;
  }, 1500);
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!form.hasAttribute('data-confirm') || form.dataset.confirmed === 'yes') return;
  event.preventDefault();
  const dialog = document.createElement('dialog');
  dialog.className = 'confirm';
  const h = document.createElement('h2');
  h.textContent = form.getAttribute('data-confirm');
  const p = document.createElement('p');
  p.textContent = form.getAttribute('data-confirm-body') || 'This cannot be undone.';
  const actions = document.createElement('div');
  actions.className = 'actions';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = 'Cancel';
  const ok = document.createElement('button');
  ok.type = 'button';
  ok.className = 'danger';
  ok.textContent = form.getAttribute('data-confirm-action') || 'Confirm';
  actions.append(cancel, ok);
  dialog.append(h, p, actions);
  document.body.append(dialog);
  cancel.addEventListener('click', () => {
    dialog.close();
    dialog.remove();
  });
  ok.addEventListener('click', () => {
    form.dataset.confirmed = 'yes';
    dialog.close();
    form.requestSubmit();
  });
  dialog.showModal();
});

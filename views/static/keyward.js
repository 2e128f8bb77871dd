// Progressive enhancement for Keyward's pages (CSP: no inline scripts).
// - <button data-copy="#id"> copies the text of the element with that id.
// - <form data-confirm="Title" data-confirm-body="…" data-confirm-action="Delete"> asks in a dialog first.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const source = document.querySelector(button.getAttribute('data-copy'));
  if (!source) return;
  await navigator.clipboard.writeText(source.value ?? source.textContent.trim());
  const label = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = label; }, 1500);
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
  cancel.addEventListener('click', () => { dialog.close(); dialog.remove(); });
  ok.addEventListener('click', () => { form.dataset.confirmed = 'yes'; dialog.close(); form.requestSubmit(); });
  dialog.showModal();
});

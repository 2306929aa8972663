// Asking before something that can't be undone, in the page rather than with window.confirm.

/**
 * Opens `dialog` (a <dialog> around a method="dialog" form) and resolves with whether it was
 * closed by the button whose value is `yes`. Cancel, Escape and closing it from code say no.
 */
export function confirmed(dialog, yes) {
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === yes), { once: true });
    dialog.showModal();
  });
}

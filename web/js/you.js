// The "You" panel of the club and event pages: who you are, or a "Your name" field
// when this browser has no identity yet. Changing a stored name would make a new
// identity (and lose a host's rights), so a known person just sees their name.

import { ApiError, ensureIdentity, getIdentity, getToken } from './api.js';

/**
 * Wires the panel made of `#you-known` (a paragraph with a <strong>) and `#you-field`
 * (a field with the input `#your-name`).
 * @returns {{identify: () => Promise<{id: string, name: string}>, identity: () => object|null}}
 */
export function setupYou() {
  const known = document.getElementById('you-known');
  const field = document.getElementById('you-field');
  const input = document.getElementById('your-name');

  function render() {
    const identity = getToken() ? getIdentity() : null;
    known.hidden = !identity;
    field.hidden = Boolean(identity);
    if (identity) known.querySelector('strong').textContent = identity.name;
  }

  /** Your identity, made from the typed name when there is none yet. */
  async function identify() {
    const stored = getToken() ? getIdentity() : null;
    const name = stored?.name ?? input.value;
    if (!name.trim()) {
      render();
      field.hidden = false;
      input.focus();
      throw new ApiError(0, 'name_required', 'Please enter your name first.');
    }
    const identity = await ensureIdentity(name);
    render();
    return identity;
  }

  render();
  return { identify, identity: () => (getToken() ? getIdentity() : null) };
}

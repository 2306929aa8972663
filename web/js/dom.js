// Small DOM helpers shared by the pages.

export const $ = (id) => document.getElementById(id);

/** An element from a small HTML template (static markup only; text is set afterwards). */
export function fromTemplate(html) {
  const template = document.createElement('template');
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

/**
 * Creates an element: h('a', {href: '/x', class: 'link', text: 'Go'}, child, ...).
 * `text` sets textContent; `on<event>` functions become listeners; `true` sets a bare
 * attribute; null, undefined and false are skipped. Children are nodes or strings.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'text') element.textContent = value;
    else if (key === 'class') element.className = value;
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'hidden') element.hidden = Boolean(value);
    else if (key in element && typeof value !== 'string') element[key] = value;
    else element.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** The path segment at `index` of this page's URL, decoded ("/events/abc" -> index 1 -> "abc"). */
export function pathPart(index) {
  try {
    return decodeURIComponent(location.pathname.split('/').filter(Boolean)[index] ?? '');
  } catch {
    return '';
  }
}

/** The occurrence status as a badge for people. */
export const STATUS_WORDS = {
  scheduled: 'scheduled',
  starting_soon: 'starting soon',
  live: 'live now',
  ended: 'ended',
  missed: "didn't happen",
};

export function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, text: STATUS_WORDS[status] ?? status });
}

/** "1 person" / "3 people"-style counts. */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Keeps `hint` saying how many characters are left in `field`, up to its maxlength, so a
 * pasted text that the field cuts short is seen. Returns the update, for values set by code.
 */
export function showCharactersLeft(field, hint) {
  const update = () => {
    hint.textContent = `${plural(field.maxLength - field.value.length, 'character')} left`;
  };
  field.addEventListener('input', update);
  update();
  return update;
}

/** Copies `text` to the clipboard; falls back to selecting `input` and copying that. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!input) return false;
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

const keyedLists = new WeakMap(); // list element -> Map(key -> element)

/** Empties a list kept by `syncChildren`. */
export function clearList(list) {
  keyedLists.delete(list);
  list.replaceChildren();
}

/**
 * Brings `list`'s children in line with `items`, reusing the element of each key so that
 * a refresh never steals focus. `create(item)` makes an element, `update(element, item)` fills it.
 */
export function syncChildren(list, items, keyOf, create, update) {
  let elements = keyedLists.get(list);
  if (!elements) keyedLists.set(list, (elements = new Map()));
  const keys = new Set(items.map(keyOf));
  for (const [key, element] of elements) {
    if (!keys.has(key)) {
      element.remove();
      elements.delete(key);
    }
  }
  let position = list.firstElementChild;
  for (const item of items) {
    const key = keyOf(item);
    let element = elements.get(key);
    if (!element) {
      element = create(item);
      elements.set(key, element);
    }
    update(element, item);
    if (element === position) position = position.nextElementSibling;
    else list.insertBefore(element, position);
  }
}

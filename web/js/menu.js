// ActionMenu: one small menu of actions, opened from a button next to a member
// (the WAI-ARIA "menu button" pattern). Only one is open at a time.

let menuCount = 0;

export class ActionMenu {
  constructor() {
    this.element = document.createElement('div');
    this.element.className = 'menu';
    this.element.id = `action-menu-${++menuCount}`;
    this.element.setAttribute('role', 'menu');
    this.element.hidden = true;
    /** The button that opened the menu, or null when closed. */
    this.trigger = null;
    this._refilling = false;

    this.element.addEventListener('keydown', (event) => this._onKeydown(event));
    this.element.addEventListener('focusout', (event) => {
      if (this._refilling || !this.trigger) return;
      if (!this.element.contains(event.relatedTarget) && event.relatedTarget !== this.trigger) {
        this.close({ returnFocus: false });
      }
    });
    document.addEventListener('pointerdown', (event) => {
      if (!this.trigger) return;
      if (this.element.contains(event.target) || this.trigger.contains(event.target)) return;
      this.close({ returnFocus: false });
    });
  }

  /**
   * Opens the menu under `trigger`.
   * @param {HTMLButtonElement} trigger
   * @param {string} label  the menu's accessible name
   * @param {{label: string, run: () => void, danger?: boolean}[]} items
   */
  open(trigger, label, items) {
    if (this.trigger) this.close({ returnFocus: false });
    this.trigger = trigger;
    trigger.setAttribute('aria-expanded', 'true');
    trigger.setAttribute('aria-controls', this.element.id);
    this.element.setAttribute('aria-label', label);
    this._fill(items);
    trigger.after(this.element);
    this.element.hidden = false;
    this._items()[0]?.focus();
  }

  /** Toggles the menu for `trigger`. */
  toggle(trigger, label, items) {
    if (this.trigger === trigger) this.close();
    else this.open(trigger, label, items);
  }

  /** Refreshes the items of the open menu, keeping focus on the same item where it still exists. */
  update(items) {
    if (!this.trigger) return;
    const focused = this.element.contains(document.activeElement) ? document.activeElement.textContent : null;
    this._refilling = true;
    try {
      this._fill(items);
    } finally {
      this._refilling = false;
    }
    const again = this._items().find((item) => item.textContent === focused) ?? (focused ? this._items()[0] : null);
    again?.focus();
  }

  close({ returnFocus = true } = {}) {
    const trigger = this.trigger;
    if (!trigger) return;
    this.trigger = null;
    trigger.setAttribute('aria-expanded', 'false');
    this.element.hidden = true;
    this.element.remove();
    if (returnFocus && trigger.isConnected) trigger.focus();
  }

  _fill(items) {
    const buttons = items.map(({ label, run, danger }) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.setAttribute('role', 'menuitem');
      button.tabIndex = -1;
      button.textContent = label;
      if (danger) button.classList.add('danger');
      button.addEventListener('click', () => {
        this.close();
        run();
      });
      return button;
    });
    this.element.replaceChildren(...buttons);
  }

  _items() {
    return [...this.element.querySelectorAll('[role="menuitem"]')];
  }

  _onKeydown(event) {
    const items = this._items();
    const index = items.indexOf(document.activeElement);
    let next = null;
    switch (event.key) {
      case 'ArrowDown':
        next = items[(index + 1) % items.length];
        break;
      case 'ArrowUp':
        next = items[(index - 1 + items.length) % items.length];
        break;
      case 'Home':
        next = items[0];
        break;
      case 'End':
        next = items[items.length - 1];
        break;
      case 'Escape':
        event.preventDefault();
        event.stopPropagation(); // Not the <dialog>'s cancel, if one is open.
        this.close();
        return;
      case 'Tab':
        this.close({ returnFocus: false });
        return;
      default:
        return;
    }
    event.preventDefault();
    next?.focus();
  }
}

// The per-member action menu ("Actions for NAME") and the removal dialog it can open.

import { describeError } from './errors.js';
import { ACTION_LABELS } from './permissions.js';
import { actionsFor, listenerView } from './room-render.js';
import { act, currentVisit, once } from './room-visit.js';
import { menu, note, ui } from './room-view.js';

const TIMED_BAN_MINUTES = 60;

function findTarget(s, id) {
  const member = s.state.stage.get(id);
  if (member) return member;
  const person = s.state.audienceNames.find((p) => p.id === id);
  return person ? listenerView(person) : null;
}

function menuItems(s, target) {
  return actionsFor(s, target).map((action) => ({
    label: ACTION_LABELS[action](target.name),
    danger: action === 'remove',
    run: () => runMemberAction(s, action, target),
  }));
}

export function openMemberMenu(button) {
  const s = currentVisit();
  const target = s && findTarget(s, button.dataset.memberId);
  if (!target) return;
  menu.toggle(button, `Actions for ${target.name}`, menuItems(s, target));
}

/** Keeps an open menu true to the latest state (or closes it when its member is gone). */
export function refreshMenu(s) {
  const trigger = menu.trigger;
  if (!trigger) return;
  const target = trigger.isConnected && findTarget(s, trigger.dataset.memberId);
  const items = target ? menuItems(s, target) : [];
  if (items.length) menu.update(items);
  else menu.close({ returnFocus: false });
}

function runMemberAction(s, action, target) {
  if (s.closed) return;
  if (action === 'remove') {
    openRemoveDialog(s, target);
    return;
  }
  act(s, action, { target: target.id });
}

function openRemoveDialog(s, target) {
  s.removeTarget = target;
  ui.removeForm.reset();
  ui.removeHeading.textContent = `Remove ${target.name}?`;
  ui.removeDialog.querySelector('.dialog-error')?.remove();
  ui.removeDialog.showModal();
}

export async function confirmRemove(event) {
  event.preventDefault();
  const s = currentVisit();
  const target = s?.removeTarget;
  if (!target) {
    ui.removeDialog.close();
    return;
  }
  const ban = ui.removeForm.elements.ban.value;
  const fields = { target: target.id, ban, hide_messages: ui.removeForm.elements.hide_messages.checked };
  if (ban === 'timed') fields.ban_minutes = TIMED_BAN_MINUTES;
  await once('remove', async () => {
    const { reply, error } = await act(s, 'remove', fields, { silent: true });
    if (s.closed) return;
    if (reply) {
      s.removeTarget = null;
      ui.removeDialog.close();
      note(`${target.name} was removed from the room.`);
      return;
    }
    let message = ui.removeDialog.querySelector('.dialog-error');
    if (!message) {
      message = document.createElement('p');
      message.className = 'error dialog-error';
      message.setAttribute('role', 'alert');
      ui.removeForm.append(message);
    }
    message.textContent = describeError(error);
  });
}

export function cancelRemove() {
  const s = currentVisit();
  if (s) s.removeTarget = null;
  ui.removeDialog.close();
}

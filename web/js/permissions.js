// Who may do what to whom in a room. The server enforces these rules (its matrix
// is web/js/matrix.js, generated from it); the page uses them only to decide which
// controls to show. No DOM, no I/O.

import { MATRIX } from './matrix.js';

export const STAGE_ROLES = new Set(['host', 'moderator', 'speaker']);

export const isOnStage = (role) => STAGE_ROLES.has(role);

/** Hosts and moderators run the room: hands, invitations, the stage, removals. */
export const isModerator = (role) => role === 'host' || role === 'moderator';

/** Accessible names of the per-member actions (request type -> label), in menu order. */
export const ACTION_LABELS = {
  invite: (name) => `Invite ${name} to speak`,
  move_to_stage: (name) => `Bring ${name} on stage`,
  mute: (name) => `Mute ${name}`,
  make_moderator: (name) => `Make ${name} moderator`,
  remove_moderator: (name) => `Remove ${name} as moderator`,
  move_to_audience: (name) => `Move ${name} to audience`,
  remove: (name) => `Remove ${name} from room`,
};

/** Whether a member in role `actor` may take `action` on a member in role `target` (the server's matrix). */
export function permitted(actor, action, target) {
  return (MATRIX.on_others[action]?.[actor] ?? []).includes(target);
}

/**
 * The actions `viewer` may take on `target`, in menu order: the matrix's, less what the
 * moment rules out (a pending invitation, a muted member, direct stage moves switched off)
 * and making a listener moderator straight from the audience (the menu offers it on stage).
 *
 * @param {{id: string, role: string}} viewer  the member looking at the page
 * @param {{id: string, role: string, muted?: boolean}} target  a stage member, or an audience name as a listener
 * @param {{allow_direct_stage?: boolean}} settings  the room's settings
 * @param {{invited?: boolean}} [context]  whether the target already has a pending invitation
 * @returns {string[]} request types (keys of ACTION_LABELS)
 */
export function memberActions(viewer, target, settings = {}, { invited = false } = {}) {
  if (!viewer || !target || viewer.id === target.id) return [];
  const ruledOut = {
    invite: invited,
    move_to_stage: !settings.allow_direct_stage,
    mute: Boolean(target.muted),
    make_moderator: target.role === 'listener',
  };
  return Object.keys(ACTION_LABELS).filter(
    (action) => !ruledOut[action] && permitted(viewer.role, action, target.role),
  );
}

// Who may do what to whom in a room. The server enforces these rules; the page
// uses them only to decide which controls to show. No DOM, no I/O.

export const STAGE_ROLES = new Set(['host', 'moderator', 'speaker']);

export const isOnStage = (role) => STAGE_ROLES.has(role);

/** Hosts and moderators run the room: hands, invitations, the stage, removals. */
export const isModerator = (role) => role === 'host' || role === 'moderator';

/** Accessible names of the per-member actions (request type -> label). */
export const ACTION_LABELS = {
  invite: (name) => `Invite ${name} to speak`,
  move_to_stage: (name) => `Bring ${name} on stage`,
  mute: (name) => `Mute ${name}`,
  make_moderator: (name) => `Make ${name} moderator`,
  remove_moderator: (name) => `Remove ${name} as moderator`,
  move_to_audience: (name) => `Move ${name} to audience`,
  remove: (name) => `Remove ${name} from room`,
};

/**
 * The actions `viewer` may take on `target`, in menu order.
 *
 * @param {{id: string, role: string}} viewer  the member looking at the page
 * @param {{id: string, role: string, muted?: boolean}} target  a stage member, or an audience name as a listener
 * @param {{allow_direct_stage?: boolean}} settings  the room's settings
 * @param {{invited?: boolean}} [context]  whether the target already has a pending invitation
 * @returns {string[]} request types (keys of ACTION_LABELS)
 */
export function memberActions(viewer, target, settings = {}, { invited = false } = {}) {
  if (!viewer || !target || viewer.id === target.id || !isModerator(viewer.role)) return [];
  const host = viewer.role === 'host';
  const actions = [];
  switch (target.role) {
    case 'listener':
      if (!invited) actions.push('invite');
      if (settings.allow_direct_stage) actions.push('move_to_stage');
      actions.push('remove');
      break;
    case 'speaker':
      if (!target.muted) actions.push('mute');
      actions.push('make_moderator', 'move_to_audience', 'remove');
      break;
    case 'moderator':
      // Moderators may mute and demote each other; only the host moves or removes one.
      if (!target.muted) actions.push('mute');
      actions.push('remove_moderator');
      if (host) actions.push('move_to_audience', 'remove');
      break;
    default:
      // The host: nobody else may act on them.
      break;
  }
  return actions;
}

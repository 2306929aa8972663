// Generated from server/rules/permissions.py by `make matrix`; do not edit.
// tests/unit/test_actions.py fails when this file and the server's matrix differ.
export const MATRIX = {
  "on_others": {
    "dismiss_hand": {
      "host": [
        "listener"
      ],
      "moderator": [
        "listener"
      ]
    },
    "invite": {
      "host": [
        "listener"
      ],
      "moderator": [
        "listener"
      ]
    },
    "make_moderator": {
      "host": [
        "listener",
        "speaker"
      ],
      "moderator": [
        "listener",
        "speaker"
      ]
    },
    "move_to_audience": {
      "host": [
        "moderator",
        "speaker"
      ],
      "moderator": [
        "speaker"
      ]
    },
    "move_to_stage": {
      "host": [
        "listener"
      ],
      "moderator": [
        "listener"
      ]
    },
    "mute": {
      "host": [
        "moderator",
        "speaker"
      ],
      "moderator": [
        "moderator",
        "speaker"
      ]
    },
    "remove": {
      "host": [
        "listener",
        "moderator",
        "speaker"
      ],
      "moderator": [
        "listener",
        "speaker"
      ]
    },
    "remove_moderator": {
      "host": [
        "moderator"
      ],
      "moderator": [
        "moderator"
      ]
    }
  },
  "self": {
    "accept_invite": [
      "listener"
    ],
    "ask": [
      "host",
      "listener",
      "moderator",
      "speaker"
    ],
    "chat": [
      "host",
      "listener",
      "moderator",
      "speaker"
    ],
    "decline_invite": [
      "listener"
    ],
    "delete_message": [
      "host",
      "moderator"
    ],
    "end_room": [
      "host"
    ],
    "leave_stage": [
      "moderator",
      "speaker"
    ],
    "lower_hand": [
      "listener"
    ],
    "mark_answered": [
      "host",
      "moderator"
    ],
    "mute_all": [
      "host",
      "moderator"
    ],
    "mute_self": [
      "host",
      "moderator",
      "speaker"
    ],
    "raise_hand": [
      "listener"
    ],
    "set_chat": [
      "host",
      "moderator"
    ],
    "set_recording": [
      "host"
    ],
    "unmute_self": [
      "host",
      "moderator",
      "speaker"
    ],
    "upvote": [
      "host",
      "listener",
      "moderator",
      "speaker"
    ]
  }
};

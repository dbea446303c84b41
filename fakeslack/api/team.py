"""Who is who: auth.test (the bot's identity), users.info, usergroups.users.list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fakeslack.wire import ApiError, Params, _as_str
from fakeslack.workspace import Workspace


class TeamMethods(Workspace):
    """auth.test, users.info, usergroups.users.list."""

    def _auth_test(self, params: Params) -> dict[str, Any]:
        """auth.test: who the token belongs to."""
        return {
            "url": f"https://{self.team_domain}.slack.com/", "team": self.team_domain.capitalize(),
            "user": self._users[self.bot_user_id]["name"], "team_id": self.team_id,
            "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False,
        }

    def _users_info(self, params: Params) -> dict[str, Any]:
        """users.info: one member's profile."""
        user = self._users.get(_as_str(params.get("user")) or "")
        if user is None:
            raise ApiError("user_not_found")
        return {
            "user": {
                "id": user["id"], "team_id": self.team_id, "name": user["name"], "deleted": False,
                "real_name": user["real_name"], "tz": user["tz"], "tz_label": user["tz"],
                "tz_offset": _tz_offset(user["tz"], self.clock()), "is_admin": user["is_admin"],
                "is_owner": False, "is_bot": user["is_bot"], "is_app_user": False,
                "profile": {
                    "real_name": user["real_name"], "real_name_normalized": user["real_name"],
                    "display_name": user["name"], "display_name_normalized": user["name"],
                    "team": self.team_id,
                },
            }
        }

    def _usergroups_users_list(self, params: Params) -> dict[str, Any]:
        """usergroups.users.list: member ids of a user group."""
        group = self._usergroups.get(_as_str(params.get("usergroup")) or "")
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}


def _tz_offset(tz: str, now: float) -> int:
    """UTC offset of a time zone in seconds at `now` (0 when the zone is unknown)."""
    try:
        offset = datetime.fromtimestamp(now, ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0

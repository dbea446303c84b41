"""views.*: modals opened and pushed with a trigger_id, updated by id or external_id, Home tabs.
"""

from __future__ import annotations

import copy
from typing import Any

from fakeslack.wire import ApiError, Params, _as_str, _bad_args
from fakeslack.workspace import Workspace


class ViewsMethods(Workspace):
    """views.open, views.push, views.update, views.publish."""

    def _views_open(self, params: Params, *, push: bool = False) -> dict[str, Any]:
        """views.open: open a modal with a fresh trigger_id, for the person it was minted for."""
        trigger = self._trigger(params)
        view = self._view_param(params, kind="modal")
        trigger.used = True
        below = self._top_view(trigger.user_id) if push and trigger.user_id else None
        stored = self._stored_view(view, root_view_id=below["root_view_id"] if below else None,
                                   previous_view_id=below["id"] if below else None)
        self._open_view(stored, trigger.user_id)
        return {"view": copy.deepcopy(stored)}

    def _views_push(self, params: Params) -> dict[str, Any]:
        """views.push: push a modal onto the person's open stack with a fresh trigger_id."""
        return self._views_open(params, push=True)

    def _views_update(self, params: Params) -> dict[str, Any]:
        """views.update: replace an open modal by view_id or external_id, honouring hash."""
        view_id = _as_str(params.get("view_id"))
        external_id = _as_str(params.get("external_id"))
        if not view_id and not external_id:
            raise _bad_args("[ERROR] either view_id or external_id is required")
        current = self.views.get(view_id) if view_id else next(
            (v for v in self.views.values() if v["external_id"] == external_id), None
        )
        if current is None:
            raise ApiError("not_found")
        view = self._view_param(params, kind=current["type"])
        expected = _as_str(params.get("hash"))
        if expected and expected != current["hash"]:
            raise ApiError("hash_conflict")
        stored = self._stored_view(
            view, view_id=current["id"], root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        self._replace_view(stored)
        return {"view": copy.deepcopy(stored)}

    def _views_publish(self, params: Params) -> dict[str, Any]:
        """views.publish: set a user's Home tab."""
        user_id = _as_str(params.get("user_id")) or ""
        view = self._view_param(params, kind="home")
        current = self.home_views.get(user_id)
        expected = _as_str(params.get("hash"))
        if current is not None and expected and expected != current["hash"]:
            raise ApiError("hash_conflict")
        stored = self._stored_view(view, view_id=current["id"] if current else None)
        self.home_views[user_id] = stored
        self._touch()
        return {"view": copy.deepcopy(stored)}

"""files.*: the external upload flow (reserve an upload URL, then complete and share).

The bytes arrive in between at the upload URL, served by ``fakeslack.interactions``.
"""

from __future__ import annotations

import copy
from typing import Any

from fakeslack.blocks import assign_ids, validate_blocks
from fakeslack.wire import ApiError, Params, _absent, _as_int, _as_str, _bad_args
from fakeslack.workspace import Workspace


class FilesMethods(Workspace):
    """files.getUploadURLExternal, files.completeUploadExternal."""

    def _files_get_upload_url_external(self, params: Params) -> dict[str, Any]:
        """files.getUploadURLExternal: reserve a file id and an upload URL."""
        length = _as_int(params.get("length"))
        if length is None or length < 1:
            raise _bad_args("[ERROR] length must be a positive integer [json-pointer:/length]")
        file_id = self._new_id("F")
        self._uploads[file_id] = {
            "filename": _as_str(params.get("filename")), "length": length, "content": None,
            "alt_txt": _as_str(params.get("alt_txt")), "snippet_type": _as_str(params.get("snippet_type")),
        }
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: Params) -> dict[str, Any]:
        """files.completeUploadExternal: finish uploads and share them to a channel."""
        files = params.get("files")
        if not isinstance(files, list) or not files or not all(
            isinstance(f, dict) and isinstance(f.get("id"), str) for f in files
        ):
            raise _bad_args('[ERROR] files must be a non-empty array of {"id", "title"} objects')
        channel_ids: list[str] = []
        if not _absent(params.get("channel_id")):
            channel_ids.append(self._channel_param(params, "channel_id", ids_only=True))
        for name in (_as_str(params.get("channels")) or "").split(","):
            if name.strip():
                channel_ids.append(self._channel_param({"channel": name.strip()}, ids_only=True))
        for entry in files:
            upload = self._uploads.get(entry["id"])
            if upload is None or upload["content"] is None:
                raise ApiError("file_not_found")
        for channel_id in channel_ids:  # sharing a file needs membership (chat:write.public covers messages only)
            self._readable_channel({"channel": channel_id})
        blocks = params.get("blocks")
        if blocks is not None:
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise ApiError("invalid_blocks", violation=True, messages=errors,
                               extra={"errors": [e.removeprefix("[ERROR] ") for e in errors]})
        thread_ts = _as_str(params.get("thread_ts"))
        comment = _as_str(params.get("initial_comment"))
        shared: list[dict[str, Any]] = []
        for entry in files:
            upload = self._uploads.pop(entry["id"])
            title = entry.get("title") or upload["filename"]
            record = {
                "id": entry["id"], "name": upload["filename"], "title": title,
                "content": upload["content"], "channel_id": channel_ids[0] if channel_ids else None,
                "channels": channel_ids, "thread_ts": thread_ts, "initial_comment": comment,
                "alt_txt": upload["alt_txt"],
            }
            self.files[entry["id"]] = record
            shared.append({"id": entry["id"], "title": title, "name": upload["filename"]})
        for channel_id in channel_ids:
            self._post(channel_id, text=comment, blocks=assign_ids(blocks) if blocks else None,
                       thread_ts=thread_ts, files=copy.deepcopy(shared))
        return {"files": shared}

"""The Web API methods the fake serves, one module per family, and the table from method name to
handler that the transport dispatches on.

A handler runs with the workspace lock held, after the contract checks (``fakeslack.checks``) and
the faults; it takes the parsed parameters and returns the answer's body without ``"ok"``, or
raises ``ApiError``. ``apps.connections.open`` is served by ``fakeslack.socket_mode``.
"""

from __future__ import annotations

from fakeslack.api.chat import ChatMethods
from fakeslack.api.conversations import ConversationsMethods
from fakeslack.api.files import FilesMethods
from fakeslack.api.team import TeamMethods
from fakeslack.api.views import ViewsMethods
from fakeslack.wire import Handler


class WebApi(ChatMethods, ConversationsMethods, ViewsMethods, FilesMethods, TeamMethods):
    """Every Web API method of FakeSlack (apps.connections.open comes from SocketMode)."""

    def _init_web_api(self) -> None:
        """The method -> handler table (`_handlers`) the transport answers from."""
        self._handlers: dict[str, Handler] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

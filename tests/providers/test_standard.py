"""LangChain's standard unit tests for chat models, run against ResilientChatModel."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from providers.resilient import ResilientChatModel
from tests.fakes import ScriptedChatModel


class TestResilientChatModelStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ResilientChatModel]:
        return ResilientChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"models": [ScriptedChatModel(model_name="primary"),
                           ScriptedChatModel(model_name="backup")]}

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # The wrapper holds no credentials of its own: its providers do.
        params = super().standard_chat_model_params
        params.pop("api_key", None)
        return params

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

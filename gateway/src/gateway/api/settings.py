"""Pipeline settings, kept in the `settings` KV bucket so every service applies them live."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from contracts.livesettings import PipelineSettings

from ..auth.guard import admin_principal, principal
from ..auth.users import Principal
from ..service import Gateway, Invalid
from .schemas import PipelineSettingsIn

__all__ = ["SettingsController"]


class SettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get(
        operation_id="getSettings",
        summary="The live pipeline settings (unset: each service's own)",
        dependencies={"who": Provide(principal)},
    )
    async def get_settings(self, who: NamedDependency[Principal], state: State) -> PipelineSettings:
        gateway: Gateway = state.gateway
        return await gateway.settings.pipeline()

    @put(
        operation_id="updateSettings",
        summary="Change pipeline settings (fields sent replace, null clears)",
        dependencies={"who": Provide(admin_principal)},
    )
    async def update_settings(
        self, who: NamedDependency[Principal], data: JSONBody[PipelineSettingsIn], state: State
    ) -> PipelineSettings:
        changes = data.model_dump(exclude_unset=True)
        if changes.get("navidrome_url") == "":
            changes["navidrome_url"] = None
        env = state.settings
        if changes.get("navidrome_url") and not (env.navidrome_user and env.navidrome_password):
            raise Invalid(
                "set BRAINSTREAM_NAVIDROME_USER and BRAINSTREAM_NAVIDROME_PASSWORD before pointing /rest at Navidrome"
            )
        gateway: Gateway = state.gateway
        return await gateway.update_pipeline(who, changes)

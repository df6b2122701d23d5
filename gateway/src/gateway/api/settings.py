"""Pipeline settings, kept in the `settings` KV bucket so every service applies them live."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from ..auth.guard import admin_principal, principal
from ..auth.users import Principal
from ..service import Gateway, Invalid
from .schemas import PipelineSettingsIn, PipelineSettingsOut

__all__ = ["SettingsController"]


class SettingsController(Controller):
    path = "/api/settings"
    tags = ["settings"]

    @get(
        operation_id="getSettings",
        summary="The live pipeline settings (unset: each service's own)",
        dependencies={"who": Provide(principal)},
    )
    async def get_settings(self, who: NamedDependency[Principal], state: State) -> PipelineSettingsOut:
        gateway: Gateway = state.gateway
        return PipelineSettingsOut.of(await gateway.settings.pipeline())

    @put(
        operation_id="updateSettings",
        summary="Change pipeline settings (fields sent replace, null clears)",
        dependencies={"who": Provide(admin_principal)},
    )
    async def update_settings(
        self, who: NamedDependency[Principal], data: JSONBody[PipelineSettingsIn], state: State
    ) -> PipelineSettingsOut:
        changes = data.model_dump(exclude_unset=True)
        for key in ("navidrome_url", "navidrome_user"):
            if changes.get(key) == "":
                changes[key] = None
        gateway: Gateway = state.gateway
        if "navidrome_password" in changes:
            password = changes.pop("navidrome_password")
            changes["navidrome_password_sealed"] = gateway.users.box.seal(password) if password else None
        merged = (await gateway.settings.pipeline()).model_copy(update=changes)
        env = state.settings
        live_account = merged.navidrome_user and merged.navidrome_password_sealed
        if merged.navidrome_url and not (live_account or (env.navidrome_user and env.navidrome_password)):
            raise Invalid(
                "give the Navidrome account (navidrome_user, navidrome_password) or set BRAINSTREAM_NAVIDROME_USER and "
                "BRAINSTREAM_NAVIDROME_PASSWORD before pointing /rest at Navidrome"
            )
        return PipelineSettingsOut.of(await gateway.update_pipeline(who, changes))

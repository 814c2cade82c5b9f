"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from feedback.settings import Settings

__all__ = ["SettingsDep", "get_app_settings"]


def get_app_settings(request: Request) -> Settings:
    """The settings ``create_app`` was given."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

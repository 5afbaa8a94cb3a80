"""Who the caller is: the lab and the key a request came with."""
from __future__ import annotations

from fastapi import APIRouter

from jobs.records import Lab
from service.deps import CurrentKey, DbSession
from service.errors import Unauthorized, error_responses
from service.route_class import SessionReleasingRoute
from service.schemas import MeOut, as_utc

router = APIRouter(prefix="/v1", tags=["keys"], route_class=SessionReleasingRoute)


@router.get("/me", response_model=MeOut, responses=error_responses(401))
def get_me(session: DbSession, key: CurrentKey) -> MeOut:
    """The caller's lab, its key's prefix (never the secret) and when the key expires (null:
    never); a script can check its key with it before a long run."""
    lab = session.get(Lab, key.lab_id)
    if lab is None:  # a key always has its lab (foreign key); kept for the type
        raise Unauthorized("invalid API key")
    return MeOut(lab=lab.name, key_prefix=key.prefix, expires_at=as_utc(key.expires_at))

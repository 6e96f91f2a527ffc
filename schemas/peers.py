"""Admin JSON API payloads of federation (`/api/v1/peers`): peers and their agreements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, ConfigDict, Field, StringConstraints, model_validator

from schemas.admin import Name, Request, Response
from schemas.principal import Sector

AuthScheme = Literal["bearer", "basic", "token"]
PushTlp = Literal["clear", "green", "amber"]
Attribution = Literal["producer", "exchange", "withheld"]
RemoteId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


# A client certificate is its file and its key: both given (as strings) or neither. Said in
# the document too, so that a request it calls valid is one the server accepts.
_CERT_WITH_KEY = {"anyOf": [
    {"properties": {"client_cert": {"type": "null"}, "client_key": {"type": "null"}}},
    {"required": ["client_cert", "client_key"],
     "properties": {"client_cert": {"type": "string"}, "client_key": {"type": "string"}}},
]}


class PeerCreate(Request):
    """Register a peer exchange; it appears locally as an organisation of its own.

    `client_cert` and `client_key` go together (both or neither, else 400). The name must be
    unused by any peer or organisation (409 otherwise).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_CERT_WITH_KEY)

    name: Name = Field(description="Local name of the peer; also its organisation's name:"
                       " unique among peers and organisations (409 if taken).")
    url: AnyHttpUrl = Field(description="The peer's TAXII 2.1 API root URL.")
    auth: AuthScheme = Field("bearer", description="How the key is sent: `Authorization:"
                             " Bearer`, `Basic` (key is user:password) or `Token`.")
    key: Secret = Field(description="The credential the peer issued to this exchange.")
    client_cert: FilePath | None = Field(None, description="PEM client certificate file.")
    client_key: FilePath | None = Field(None, description="PEM key of the client certificate.")
    sector: Sector = Field(Sector.NONPROFIT, description="Sector of the peer's organisation:"
                           " sector releasability judges its reads like any member's.")
    hop_limit: int = Field(2, ge=1, le=16, description="Objects that crossed this many"
                           " borders are neither pulled from nor pushed to this peer.")
    onward: bool = Field(False, description="Whether objects from this peer may be"
                         " re-published to other peers.")

    @model_validator(mode="after")
    def _cert_with_key(self) -> PeerCreate:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("a client certificate needs both client_cert and client_key")
        return self


class PeerPatch(Request):
    """Change how a peer is reached (the key it issued us, typically)."""

    url: AnyHttpUrl | None = None
    auth: AuthScheme | None = None
    key: Secret | None = None
    hop_limit: int | None = Field(None, ge=1, le=16)
    onward: bool | None = None


class PullCreate(Request):
    """Pull a remote collection into a local one."""

    remote_collection: RemoteId
    into: uuid.UUID = Field(description="The local collection (its trust group receives).")
    amber_group: uuid.UUID | None = Field(
        None, description="Pull TLP:AMBER too; must name the local collection's trust group."
        " Without it only CLEAR and GREEN are pulled. RED never is.")


# A push publishes a collection or a feed: exactly one of the two. Said in the document too,
# so that a request it calls valid is one the server accepts.
_ONE_SOURCE = {"anyOf": [
    {"required": ["collection"],
     "properties": {"collection": {"type": "string"}, "feed": {"type": "null"}}},
    {"required": ["feed"],
     "properties": {"feed": {"type": "string"}, "collection": {"type": "null"}}},
]}


class PushCreate(Request):
    """Push a local collection, or a feed, to a remote collection.

    Exactly one of `collection` and `feed` (else 400). A feed must name its collections or
    trust groups (409 otherwise): the peer joins their groups and is judged as a member.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_SOURCE)

    collection: uuid.UUID | None = Field(None, description="The local collection pushed.")
    feed: uuid.UUID | None = Field(
        None, description="A feed pushed instead: what its filter selects among what its"
        " organisation may see, read afresh at every enqueue (the peer must see it too).")
    to: RemoteId = Field(description="The remote collection id.")
    tlp_max: PushTlp = Field("green", description="Most restrictive TLP pushed; RED never.")
    sectors: list[Sector] | None = Field(
        None, description="Sectors of the remote audience: objects restricted to sectors"
        " are pushed only when releasable to all of these.")
    attribution: Attribution = Field(
        "exchange", description="`producer`: as stored; `exchange`: member authors replaced"
        " by this exchange's identity; `withheld`: member authors removed.")

    @model_validator(mode="after")
    def _one_source(self) -> PushCreate:
        if (self.collection is None) == (self.feed is None):
            raise ValueError("a push names exactly one of collection and feed")
        return self


class Pull(Response):
    id: uuid.UUID
    remote_collection: str
    into: uuid.UUID
    amber_group: uuid.UUID | None
    added_after: str | None
    objects_in: int
    refused: int
    failures: int
    last_error: str | None
    last_success: datetime | None


class Push(Response):
    id: uuid.UUID
    collection: uuid.UUID | None = Field(description="The collection pushed, or null.")
    feed: uuid.UUID | None = Field(description="The feed pushed, or null.")
    to: str
    tlp_max: PushTlp
    sectors: list[Sector] | None
    attribution: Attribution
    objects_out: int
    pending_batches: int
    dead_batches: int


class Delivery(Response):
    at: datetime
    batch: uuid.UUID
    objects: int
    status: int | None
    error: str | None
    state: str


class Peer(Response):
    id: uuid.UUID
    name: str
    org_id: uuid.UUID
    identity_id: str
    sector: Sector
    url: str
    auth: AuthScheme
    client_cert: str | None
    hop_limit: int
    onward: bool
    paused: bool
    created: datetime


class PeerDetail(Peer):
    pulls: list[Pull]
    pushes: list[Push]
    deliveries: list[Delivery] = Field(description="Latest push attempts, newest first.")


class PeerList(Response):
    peers: list[Peer]

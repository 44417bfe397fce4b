"""Guides (api-v2 §6): shippings, transports and devolutions. The transport (`loaded_at`, the
plate, both addresses) round-trips; `loaded_at` must be later than now when set and at finalize; finalizing
communicates the transport to AT (the sandbox's simulator) and answers its code in
`at_doc_code_id`; states draft → final → canceled, draft → deleted."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from ixserver import clock
from tests.api.invoicing import body, change, create, finalize
from tests.support import Api, LiveServer

GUIDES = ["shipping", "transport", "devolution"]
FROM = {"detail": "Rua 5", "city": "Lisboa", "postal_code": "1000-555", "country": "Portugal"}
TO = {"detail": "Avenida 10", "city": "Porto", "postal_code": "2000-555", "country": "Portugal"}


def loaded_at(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M:%S")


def guide(**fields: Any) -> dict[str, Any]:
    """A guide's body: starts in an hour, lines at price 0 as Odoo sends them."""
    items = [{"name": "Pallet", "description": "Pallet", "unit_price": "0", "quantity": "3"}]
    start = loaded_at(clock.local_now() + timedelta(hours=1))
    transport = {
        "loaded_at": start,
        "license_plate": "11-AA-22",
        "address_from": FROM,
        "address_to": TO,
        "items": items,
    }
    return body(**{**transport, **fields})


@pytest.mark.parametrize("doc_type", GUIDES)
def test_a_guide_round_trips_and_is_issued_with_an_at_code(api: Api, doc_type: str) -> None:
    sent = guide(address_to={**TO, "email": "x@y.pt"})  # Odoo sends an e-mail in the addresses: not kept
    created = api.post(f"/{doc_type}s.json", json={doc_type: sent})
    assert created.status_code == 201, created.text
    draft = created.json()[doc_type]
    assert (draft["address_from"], draft["address_to"], draft["license_plate"]) == (FROM, TO, "11-AA-22")
    assert (draft["at_doc_code_id"], draft["loaded_at"]) == (None, sent["loaded_at"])
    assert api.get(f"/{doc_type}s/{draft['id']}.json").json() == {doc_type: draft}
    issued = finalize(api, doc_type, draft["id"])
    serie = api.get("/sequences.json").json()["sequences"][0]
    assert issued["sequence_number"] == f"1/{serie['serie']}"
    assert issued["atcud"] == f"{serie[f'current_{doc_type}_validation_code']}-1"
    assert issued["at_doc_code_id"] and len(issued["at_doc_code_id"]) == 12
    assert (issued["address_from"], issued["address_to"]) == (FROM, TO)
    assert api.get(f"/{doc_type}s/{draft['id']}.json").json()[doc_type]["at_doc_code_id"] == issued["at_doc_code_id"]


def test_the_transport_is_required_and_read_strictly(api: Api) -> None:
    missing = api.post("/shippings.json", json={"shipping": body()})
    assert missing.status_code == 422
    assert missing.json()["errors"][:2] == [
        {"error": "Loaded at can't be blank"},
        {"error": "Address from: detail can't be blank"},
    ]
    half = api.post("/shippings.json", json={"shipping": guide(address_to={"city": "Porto"})})
    assert [e["error"] for e in half.json()["errors"]] == [
        "Address to: detail can't be blank",
        "Address to: postal code can't be blank",
        "Address to: country can't be blank",
    ]
    long_ago = api.post("/shippings.json", json={"shipping": guide(loaded_at="01/01/0001 10:00:00")})
    assert long_ago.json()["errors"] == [{"error": "Loaded at must be between 01/01/2000 and 31/12/2099"}]
    bad_time = api.post("/shippings.json", json={"shipping": guide(loaded_at="tomorrow")})
    assert bad_time.json()["errors"] == [{"error": "Loaded at must be a date and time as dd/mm/yyyy HH:MM:SS"}]


STARTED = [{"error": "Loaded at must be later than now: a guide is issued before its transport starts"}]


@pytest.mark.parametrize("doc_type", GUIDES)
def test_a_start_in_the_past_is_refused_on_create_and_update(api: Api, doc_type: str) -> None:
    """The rule finalization checks, said when `loaded_at` is set; nothing created or changed."""
    past = loaded_at(clock.local_now() - timedelta(minutes=5))
    refused = api.post(f"/{doc_type}s.json", json={doc_type: guide(loaded_at=past)})
    assert (refused.status_code, refused.json()["errors"]) == (422, STARTED)
    assert api.get(f"/{doc_type}s.json").json()[f"{doc_type}s"] == [], "nothing created"
    draft = create(api, doc_type, **guide())
    refused = api.put(f"/{doc_type}s/{draft['id']}.json", json={doc_type: guide(loaded_at=past)})
    assert (refused.status_code, refused.json()["errors"]) == (422, STARTED)
    assert api.get(f"/{doc_type}s/{draft['id']}.json").json()[doc_type]["loaded_at"] == draft["loaded_at"]


def test_a_guide_whose_transport_has_started_is_not_issued(api: Api) -> None:
    """Time passes between create and finalize: a start that was later than now when set is
    checked again. An update that leaves `loaded_at` out keeps the draft's, unchecked."""
    soon = loaded_at(clock.local_now() + timedelta(seconds=2))
    started = create(api, "shipping", **guide(loaded_at=soon))
    passed = api.put("/_ixserver/clock", json={"clock": {"advance": "3s"}})  # the account's clock, not a wait
    assert passed.status_code == 200, passed.text
    refused = change(api, "shipping", started["id"], "finalized")
    assert refused.json()["errors"] == STARTED
    unsent = {key: value for key, value in guide().items() if key != "loaded_at"}
    kept = api.put(f"/shippings/{started['id']}.json", json={"shipping": {**unsent, "delivery_site": "Porto"}})
    assert (kept.status_code, kept.json()["shipping"]["loaded_at"]) == (200, soon), kept.text
    later = loaded_at(clock.local_now() + timedelta(days=1))
    moved = api.put(f"/shippings/{started['id']}.json", json={"shipping": {**guide(), "loaded_at": later}})
    assert moved.json()["shipping"]["loaded_at"] == later
    assert finalize(api, "shipping", started["id"])["status"] == "final"


def test_guide_states_and_lists(server: LiveServer, api: Api) -> None:
    from ixserver.services.verify import verify

    shipping = finalize(api, "shipping", create(api, "shipping", **guide())["id"])
    assert change(api, "shipping", shipping["id"], "settled").status_code == 422
    assert change(api, "shipping", shipping["id"], "canceled", "wrong truck").json()["shipping"]["status"] == "canceled"
    transport = create(api, "transport", **guide())
    devolution = create(api, "devolution", **guide())
    assert change(api, "devolution", devolution["id"], "deleted").json()["devolution"]["status"] == "deleted"
    create(api)  # an invoice is not a guide
    listed = api.get("/guides.json").json()
    assert sorted(d["id"] for d in listed["guides"]) == sorted([shipping["id"], transport["id"]])
    assert [d["id"] for d in api.get("/guides.json", params={"type[]": "Transport"}).json()["guides"]] == [
        transport["id"]
    ]
    assert [d["id"] for d in api.get("/transports.json").json()["transports"]] == [transport["id"]]
    with server.db.read() as conn:
        assert verify(conn, server.resources.seal_key, api.name) == []


def test_load_and_delivery_sites_round_trip_and_loaded_at_filters_the_list(api: Api) -> None:
    tomorrow = clock.local_now() + timedelta(days=1)
    later = clock.local_now() + timedelta(days=3)
    sent = guide(loaded_at=loaded_at(tomorrow), load_site="Lisbon, Portugal", delivery_site="Madrid, Spain")
    first = api.post("/shippings.json", json={"shipping": sent}).json()["shipping"]
    assert (first["load_site"], first["delivery_site"]) == ("Lisbon, Portugal", "Madrid, Spain")
    updated = api.put(f"/shippings/{first['id']}.json", json={"shipping": {**sent, "delivery_site": "Porto"}}).json()[
        "shipping"
    ]
    assert (updated["load_site"], updated["delivery_site"]) == ("Lisbon, Portugal", "Porto"), (
        "what the update leaves out stays"
    )
    second = create(api, "transport", **guide(loaded_at=loaded_at(later)))
    assert second["load_site"] is None

    def listed(**params: str) -> list[int]:
        response = api.get("/guides.json", params=params)
        assert response.status_code == 200, response.text
        return sorted(d["id"] for d in response.json()["guides"])

    day = "%d/%m/%Y"
    assert listed(**{"loaded_at[from]": tomorrow.strftime(day)}) == sorted([first["id"], second["id"]])
    assert listed(**{"loaded_at[to]": tomorrow.strftime(day)}) == [first["id"]], "the whole day, whatever the hour"
    assert listed(**{"loaded_at[from]": later.strftime(day), "loaded_at[to]": later.strftime(day)}) == [second["id"]]
    assert listed(**{"loaded_at[to]": clock.local_now().strftime(day)}) == []
    assert api.get("/guides.json", params={"loaded_at[from]": "31/02/2026"}).status_code == 422


def test_a_guide_names_countries_of_the_list(server: LiveServer, api: Api) -> None:
    """Issue 23: a guide to "Narnia" was issued (and SAF-T said "Desconhecido"). Each address's
    country is one of the country list (the spec's appendix), by its name in any letter case,
    its code or its Portuguese name, kept as the list names it; else a 422 naming the address,
    on create, on update, and at finalize for a draft stored before the rule."""
    refused = api.post("/shippings.json", json={"shipping": guide(address_to={**TO, "country": "Narnia"})})
    assert (refused.status_code, refused.json()) == (
        422,
        {"errors": [{"error": "Address to: Country Narnia was not found"}]},
    )
    assert api.get("/shippings.json").json()["shippings"] == [], "nothing created"
    spelled = {**guide(address_from={**FROM, "country": "PT"}, address_to={**TO, "country": "Espanha"})}
    draft = create(api, "shipping", **spelled)
    assert (draft["address_from"]["country"], draft["address_to"]["country"]) == ("Portugal", "Spain")
    moved = api.put(
        f"/shippings/{draft['id']}.json", json={"shipping": guide(address_from={**FROM, "country": "Mordor"})}
    )
    assert (moved.status_code, moved.json()) == (
        422,
        {"errors": [{"error": "Address from: Country Mordor was not found"}]},
    )
    for name, code in (("united kingdom", "UK"), ("DE", "Germany"), ("França", "France")):
        kept = api.put(f"/shippings/{draft['id']}.json", json={"shipping": guide(address_to={**TO, "country": name})})
        assert kept.json()["shipping"]["address_to"]["country"] == code, name
    stored = create(api, "shipping", **guide())
    with server.by_hand(api) as conn:
        transport = json.loads(
            conn.execute(text("SELECT transport FROM documents WHERE id = :i"), {"i": stored["id"]}).scalar_one()
        )
        transport["address_to"]["country"] = "Narnia"
        conn.execute(
            text("UPDATE documents SET transport = :t WHERE id = :i"), {"t": json.dumps(transport), "i": stored["id"]}
        )
    assert api.get(f"/shippings/{stored['id']}.json").json()["shipping"]["address_to"]["country"] == "Narnia"
    unissued = change(api, "shipping", stored["id"], "finalized")
    assert (unissued.status_code, unissued.json()) == (
        422,
        {"errors": [{"error": "Address to: Country Narnia was not found"}]},
    )
    assert finalize(api, "shipping", draft["id"])["address_to"]["country"] == "France"

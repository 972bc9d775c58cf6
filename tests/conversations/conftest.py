"""One analysed workspace of real threads, shared by the conversation-stage tests.

It holds a slice of ``twcs_head5000`` (its first 1,200 rows, every thread a test names,
and the threads of account 115911, whose agent signatures make it a brand voice), the
IBM ``dev.json`` dialogues as the adapter reads them (with the agent's final answer), a
few Stack Exchange question threads cut out of the real dump, and small hand-made
canonical threads for the edge cases no real file shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from lxml import etree

from socialcrm.workspace import Workspace

SE_QUESTIONS = {1519, 1860, 2030, 3989}
TWCS_ROOTS = {"3941", "5090", "409", "5355", "4295", "3027", "1637", "3923", "672", "6611", "1621"}
TWCS_HEAD = 1200


def twcs_slice(csv_path: Path, out: Path) -> Path:
    """The first rows, the threads (by root tweet) the tests name, and 115911's threads."""
    df = pd.read_csv(csv_path, dtype=str, keep_default_na=False, index_col=0)
    parent = dict(zip(df.tweet_id, df.in_response_to_tweet_id.str.removesuffix(".0"), strict=True))

    def root(t: str) -> str:
        seen = set()
        while parent.get(t) in parent and t not in seen:
            seen.add(t)
            t = parent[t]
        return t

    roots = df.tweet_id.map(root)
    voice = set(roots[df.author_id == "115911"])
    keep = (df.reset_index(drop=True).index < TWCS_HEAD) | roots.isin(TWCS_ROOTS | voice).to_numpy()
    df[keep].to_csv(out)
    return out


SE_SOURCE = "stackexchange_quantumcomputing_2018"


def se_slice(dump: Path, out: Path, questions: set[int]) -> Path:
    """A dump directory with only ``questions``, their answers and all their comments."""
    out.mkdir(parents=True, exist_ok=True)
    posts = etree.parse(str(dump / "Posts.xml")).getroot()
    keep_posts = etree.Element("posts")
    ids: set[str] = set()
    for row in posts:
        pid, parent = int(row.get("Id")), row.get("ParentId")
        if pid in questions or (parent is not None and int(parent) in questions):
            keep_posts.append(row)
            ids.add(row.get("Id"))
    (out / "Posts.xml").write_bytes(
        etree.tostring(keep_posts, xml_declaration=True, encoding="utf-8")
    )
    comments = etree.parse(str(dump / "Comments.xml")).getroot()
    keep = etree.Element("comments")
    for row in comments:
        if row.get("PostId") in ids:
            keep.append(row)
    (out / "Comments.xml").write_bytes(etree.tostring(keep, xml_declaration=True, encoding="utf-8"))
    return out


# Hand-made threads in the canonical format (JSON Lines), each named for what it tests.
HANDMADE: list[dict[str, Any]] = [
    # an e-mail exchange: private, two parties answering each other
    {
        "interaction_id": "mail:1",
        "ts": "2024-03-01T09:00:00+00:00",
        "channel": "email",
        "actor": "email:ann@example.com",
        "targets": ["email:support@acme.com"],
        "text": "Hello, my invoice 1234 is wrong, can you correct it?",
    },
    {
        "interaction_id": "mail:2",
        "ts": "2024-03-01T10:00:00+00:00",
        "channel": "email",
        "actor": "email:support@acme.com",
        "targets": ["email:ann@example.com"],
        "in_reply_to": "mail:1",
        "text": "Dear Ann, we corrected the invoice; the new total is 40 EUR and it is attached.",
    },
    {
        "interaction_id": "mail:3",
        "ts": "2024-03-01T11:00:00+00:00",
        "channel": "email",
        "actor": "email:ann@example.com",
        "targets": ["email:support@acme.com"],
        "in_reply_to": "mail:2",
        "text": "Thank you, that is right now.",
    },
    # a public tweet continued in a private DM thread (structure shows the move)
    {
        "interaction_id": "tw:1",
        "ts": "2024-03-02T09:00:00+00:00",
        "channel": "twitter",
        "actor": "twitter:bob",
        "targets": ["twitter:AcmeHelp"],
        "visibility": "public",
        "text": "@AcmeHelp my order never arrived",
    },
    {
        "interaction_id": "tw:2",
        "ts": "2024-03-02T09:10:00+00:00",
        "channel": "twitter",
        "actor": "twitter:AcmeHelp",
        "targets": ["twitter:bob"],
        "in_reply_to": "tw:1",
        "visibility": "private",
        "text": "Hi Bob, which order number is it?",
    },
    {
        "interaction_id": "tw:3",
        "ts": "2024-03-02T09:20:00+00:00",
        "channel": "twitter",
        "actor": "twitter:bob",
        "targets": ["twitter:AcmeHelp"],
        "in_reply_to": "tw:2",
        "visibility": "private",
        "text": "It is 5678.",
    },
    # a brand broadcast nobody is answered on (business degree 1)
    {
        "interaction_id": "bc:1",
        "ts": "2024-03-03T09:00:00+00:00",
        "channel": "facebook",
        "actor": "facebook:AcmeBrand",
        "text": "Our spring collection is in stores today.",
    },
    {
        "interaction_id": "bc:2",
        "ts": "2024-03-03T10:00:00+00:00",
        "channel": "facebook",
        "actor": "facebook:carol",
        "in_reply_to": "bc:1",
        "text": "Do you have it in blue?",
    },
    # a broadcast with bait (business degree 2)
    {
        "interaction_id": "bait:1",
        "ts": "2024-03-04T09:00:00+00:00",
        "channel": "facebook",
        "actor": "facebook:AcmeBrand",
        "text": "Register now and download our free guide to spring gardening!",
    },
    {
        "interaction_id": "bait:2",
        "ts": "2024-03-04T09:30:00+00:00",
        "channel": "facebook",
        "actor": "facebook:dan",
        "in_reply_to": "bait:1",
        "text": "Nice",
    },
    # the brand publishes, five people comment, it answers one (business degree 4)
    {
        "interaction_id": "blog:1",
        "ts": "2024-03-05T09:00:00+00:00",
        "channel": "blog",
        "actor": "blog:AcmeBrand",
        "kind": "post",
        "text": "We are changing our delivery options next month.",
    },
    *[
        {
            "interaction_id": f"blog:c{i}",
            "ts": f"2024-03-05T1{i}:00:00+00:00",
            "channel": "blog",
            "actor": f"blog:reader{i}",
            "kind": "comment",
            "in_reply_to": "blog:1",
            "text": f"Comment number {i} about the delivery change.",
        }
        for i in range(1, 6)
    ],
    {
        "interaction_id": "blog:r1",
        "ts": "2024-03-05T18:00:00+00:00",
        "channel": "blog",
        "actor": "blog:AcmeBrand",
        "kind": "comment",
        "in_reply_to": "blog:c1",
        "text": "Thanks for your comment.",
    },
    # a community space the brand opened: customers help each other, the brand once (5)
    {
        "interaction_id": "fc:1",
        "ts": "2024-03-06T09:00:00+00:00",
        "channel": "forum",
        "actor": "forum:AcmeBrand",
        "kind": "post",
        "text": "Share your tips for the new app here.",
    },
    {
        "interaction_id": "fc:2",
        "ts": "2024-03-06T09:10:00+00:00",
        "channel": "forum",
        "actor": "forum:erin",
        "kind": "comment",
        "in_reply_to": "fc:1",
        "text": "How do I export my data?",
    },
    {
        "interaction_id": "fc:3",
        "ts": "2024-03-06T09:20:00+00:00",
        "channel": "forum",
        "actor": "forum:frank",
        "kind": "comment",
        "in_reply_to": "fc:2",
        "text": "Settings, then Export; it writes a CSV file.",
    },
    {
        "interaction_id": "fc:4",
        "ts": "2024-03-06T09:30:00+00:00",
        "channel": "forum",
        "actor": "forum:gina",
        "kind": "comment",
        "in_reply_to": "fc:3",
        "text": "Frank is right, and the CSV opens in any spreadsheet.",
    },
    {
        "interaction_id": "fc:5",
        "ts": "2024-03-06T09:40:00+00:00",
        "channel": "forum",
        "actor": "forum:frank",
        "kind": "comment",
        "in_reply_to": "fc:4",
        "text": "Good point Gina, thanks.",
    },
    {
        "interaction_id": "fc:6",
        "ts": "2024-03-06T09:50:00+00:00",
        "channel": "forum",
        "actor": "forum:erin",
        "kind": "comment",
        "in_reply_to": "fc:3",
        "text": "It worked, thank you both!",
    },
    {
        "interaction_id": "fc:7",
        "ts": "2024-03-06T10:00:00+00:00",
        "channel": "forum",
        "actor": "forum:gina",
        "kind": "comment",
        "in_reply_to": "fc:6",
        "text": "Glad it helped Erin.",
    },
    {
        "interaction_id": "fc:8",
        "ts": "2024-03-06T10:10:00+00:00",
        "channel": "forum",
        "actor": "forum:frank",
        "kind": "comment",
        "in_reply_to": "fc:6",
        "text": "Enjoy the app.",
    },
    {
        "interaction_id": "fc:9",
        "ts": "2024-03-06T10:20:00+00:00",
        "channel": "forum",
        "actor": "forum:henry",
        "kind": "comment",
        "in_reply_to": "fc:1",
        "text": "Dark mode is under Display.",
    },
    {
        "interaction_id": "fc:10",
        "ts": "2024-03-06T11:00:00+00:00",
        "channel": "forum",
        "actor": "forum:AcmeBrand",
        "kind": "comment",
        "in_reply_to": "fc:9",
        "text": "Thanks Henry!",
    },
    # a customer who asked and has waited two days without an answer (urgency: waiting)
    {
        "interaction_id": "wait:1",
        "ts": "2024-03-07T09:00:00+00:00",
        "channel": "twitter",
        "actor": "twitter:ivan",
        "targets": ["twitter:AcmeHelp"],
        "text": "@AcmeHelp where is my refund? Still waiting, this is the third time I ask.",
    },
    {
        "interaction_id": "late:1",
        "ts": "2024-03-09T09:00:00+00:00",
        "channel": "twitter",
        "actor": "twitter:judy",
        "text": "Lovely weather today.",
    },
    # a phone call without text, in a thread with an e-mail (no text: no sentiment)
    {
        "interaction_id": "call:1",
        "ts": "2024-03-08T09:00:00+00:00",
        "channel": "phone",
        "actor": "phone:+4512345678",
        "targets": ["phone:acme-desk"],
        "kind": "call",
        "value": 240,
    },
    {
        "interaction_id": "call:2",
        "ts": "2024-03-08T09:30:00+00:00",
        "channel": "email",
        "actor": "email:desk@acme.com",
        "targets": ["phone:+4512345678"],
        "in_reply_to": "call:1",
        "text": "As promised on the phone, your replacement ships tomorrow.",
    },
]
BRANDS = (
    "email:support@acme.com",
    "twitter:AcmeHelp",
    "facebook:AcmeBrand",
    "blog:AcmeBrand",
    "forum:AcmeBrand",
    "email:desk@acme.com",
    "phone:acme-desk",
)


def handmade_file(path: Path) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in HANDMADE) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def conv_ws(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A twcs slice + IBM dev.json + 4 Stack Exchange threads + hand-made threads, analysed."""
    tmp = tmp_path_factory.mktemp("conversations")
    ws = Workspace(tmp / "conv.duckdb")
    ws.ingest(
        "twcs", [twcs_slice(shared_data / "twcs_head5000" / "twcs_first5000.csv", tmp / "twcs.csv")]
    )
    ws.ingest("ibm", [shared_data / "ibm_twitter_customer_care" / "dev.json"])
    ws.ingest("stackexchange", [se_slice(shared_data / SE_SOURCE, tmp / SE_SOURCE, SE_QUESTIONS)])
    ws.ingest("canonical", [handmade_file(tmp / "handmade.jsonl")])
    for handle in BRANDS:
        ws.set_role(handle, "brand")
    ws.analyze_conversations()
    yield ws
    ws.close()


def labels(ws: Workspace, conv_id: str) -> dict[str, Any]:
    rows = ws.query("SELECT * FROM conversations WHERE conversation_id = ?", [conv_id]).to_pylist()
    assert rows, f"no conversation {conv_id}"
    return rows[0]


def features(ws: Workspace, conv_id: str) -> dict[str, Any]:
    rows = ws.query(
        "SELECT * FROM conversation_features WHERE conversation_id = ?", [conv_id]
    ).to_pylist()
    assert rows, f"no conversation {conv_id}"
    return rows[0]

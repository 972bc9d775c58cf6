"""The proper responder: rank community members and staff for one conversation.

Seed 001: "sCRM systems must enable business processes by prioritizing and routing the
relevant conversations to the proper responder", and "the only way any organization can
scale with social, is via social": superusers who know the topic answer first. A
candidate's score is a weighted sum of evidence (``[responders.weights]`` of the policy):

==========  ==============================================================================
component   evidence
==========  ==============================================================================
activity    ``log(1 + a)``, ``a`` the candidate's past answers decayed with a half-life
            (``activity_half_life_days``): who answers lately answers next (the "most
            active so far" baseline counts answers without decay)
topic       ``log(1 + sum over the conversation's topics of w(c, t) / log(2 + df(t)))``:
            answers on the same tags/topics, an accepted one counting
            ``1 + accepted_bonus``, rare topics weighing more (an idf on topics)
text        TF-IDF cosine between the conversation and everything the candidate answered
            (their answers and the questions they answered) — the profile-based expert
            model of Balog, Azzopardi & de Rijke (SIGIR 2006) with a vector-space match
similar     answers to the 20 past conversations most similar to this one, each weighted
            by its cosine: the question-similarity routing of Li & King (CIKM 2010)
tie         tie strength with the author (``ties`` table when the relationships stage
            ran, else ``1 - exp(-n / 2)`` of n past exchanges); seed 000: strong ties carry
            influence and trust
recent      ``exp(-hours since any activity / recent_hours)``: who is around now
load        minus open assignments and pending invitations over the per-agent cap
==========  ==============================================================================

The index keeps every piece of evidence as it arrives (:meth:`ResponderIndex.observe_*`),
so a replay updates it event by event and a decision never sees the future; the store
builds the same index in bulk (:mod:`socialcrm.routing.index`). A decision is then a small
lookup: vectors over candidates, one sparse product for the text, a top-k.

Example
-------
>>> from datetime import datetime
>>> from socialcrm.routing.policy import load_policy
>>> idx = ResponderIndex(load_policy())
>>> t0 = datetime(2024, 1, 1)
>>> idx.observe_request("q1", "ann", t0, "How do I reset a qubit?", ["qubits"])
>>> idx.observe_response("q1", "bob", datetime(2024, 1, 1, 1), "Apply a measurement.")
>>> idx.rank({"author": "cy", "text": "reset qubit", "topics": ["qubits"]},
...          datetime(2024, 1, 2)).candidate.tolist()  # ann asked; only bob has answered
['bob']
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from socialcrm.routing.policy import Policy

N_FEATURES = 2**18
SIMILAR_K = 20
COMPONENTS: tuple[str, ...] = ("activity", "topic", "text", "similar", "tie", "recent", "load")


def _seconds(ts: datetime | pd.Timestamp) -> float:
    return pd.Timestamp(ts).timestamp()


class _Rows:
    """A sparse matrix that grows by summing vectors into rows.

    New vectors wait as COO triplets and are added to the compressed matrix when it is
    next read, so a replay pays for what changed, not for the whole matrix.
    """

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self._csr: sp.csr_matrix | None = None

    def add(self, row: int, vec: sp.csr_matrix | tuple[np.ndarray, np.ndarray]) -> None:
        cols, vals = (vec.indices, vec.data) if sp.issparse(vec) else vec
        if len(cols):
            self.rows.append(np.full(len(cols), row, dtype=np.int64))
            self.cols.append(np.asarray(cols, dtype=np.int64))
            self.vals.append(np.asarray(vals, dtype=np.float64))

    def add_matrix(self, rows: np.ndarray, mat: sp.csr_matrix) -> None:
        """Add row ``i`` of ``mat`` into row ``rows[i]`` (bulk build)."""
        coo = mat.tocoo()
        self.rows.append(np.asarray(rows, dtype=np.int64)[coo.row])
        self.cols.append(coo.col.astype(np.int64))
        self.vals.append(coo.data.astype(np.float64))

    @property
    def dirty(self) -> bool:
        return bool(self.rows)

    def csr(self, n_rows: int) -> sp.csr_matrix:
        base = self._csr
        if base is None:
            base = sp.csr_matrix((n_rows, N_FEATURES))
        elif base.shape[0] < n_rows:
            base = sp.vstack([base, sp.csr_matrix((n_rows - base.shape[0], N_FEATURES))]).tocsr()
        if self.rows:
            r, c, v = (np.concatenate(x) for x in (self.rows, self.cols, self.vals))
            self.rows, self.cols, self.vals = [], [], []
            base = base + sp.csr_matrix((v, (r, c)), shape=(n_rows, N_FEATURES))
        self._csr = base
        return base


class ResponderIndex:
    """Who answered what, how well, how lately, and with whom — updated incrementally.

    Candidates are entities that answered someone, plus staff and community members
    registered with :meth:`add_candidate` (they rank on load and ties until they answer).
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.tau = policy.activity_half_life_days * 86400 / math.log(2)
        self.vectorizer = HashingVectorizer(
            n_features=N_FEATURES, alternate_sign=False, norm=None, stop_words="english"
        )
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self.role: list[str | None] = []
        self.brand: list[str | None] = []
        self.tier: list[str | None] = []
        self._act = np.zeros(0)  # decayed answer count at _act_t
        self._act_t = np.zeros(0)
        self.answers = np.zeros(0)
        self.good = np.zeros(0)
        self.last_active = np.full(0, -np.inf)
        self.load = np.zeros(0)
        self.topic_w: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.topic_df: dict[str, int] = defaultdict(int)
        self.df = np.zeros(N_FEATURES)
        self.n_docs = 0
        self.profiles = _Rows()
        # conversations: their request vector, author, topics and who answered them
        self.conv_pos: dict[str, int] = {}
        self.conv_author: list[str] = []
        self.conv_topics: list[tuple[str, ...]] = []
        self.conv_vecs = _Rows()
        self._conv_terms: list[tuple[np.ndarray, np.ndarray]] = []
        self.conv_answerers: list[list[int]] = []
        self._answered_convs: list[int] = []
        self.exchanges: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.tie_strength: dict[str, dict[int, float]] = defaultdict(dict)
        self._cache: dict[str, Any] = {}

    # -- candidates -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def candidate(self, entity: str) -> int:
        """The row of an entity, added if new."""
        i = self.pos.get(entity)
        if i is not None:
            return i
        i = len(self.ids)
        self.ids.append(entity)
        self.pos[entity] = i
        self.role.append(None)
        self.brand.append(None)
        self.tier.append(None)
        for name, fill in (
            ("_act", 0.0),
            ("_act_t", 0.0),
            ("answers", 0.0),
            ("good", 0.0),
            ("last_active", -np.inf),
            ("load", 0.0),
        ):
            arr = getattr(self, name)
            if i >= len(arr):
                grown = np.full(max(16, 2 * len(arr)), fill)
                grown[: len(arr)] = arr
                setattr(self, name, grown)
        self._drop("profiles_csc", "profiles_sq", "brand", "kinds")
        return i

    def add_candidate(
        self,
        entity: str,
        role: str | None = None,
        brand: str | None = None,
        tier: str | None = None,
    ) -> int:
        """Register a staff member or community member (role, the brand they serve, tier)."""
        i = self.candidate(entity)
        if role is not None:
            self.role[i] = role
        if brand is not None:
            self.brand[i] = brand
        if tier is not None:
            self.tier[i] = tier
        self._drop("brand", "kinds")
        return i

    def _drop(self, *keys: str) -> None:
        for k in keys:
            self._cache.pop(k, None)
        if "kinds" in keys:
            for k in [k for k in self._cache if isinstance(k, tuple)]:
                self._cache.pop(k, None)

    def _n(self) -> int:
        return len(self.ids)

    # -- evidence -----------------------------------------------------------------------
    def text_vector(self, text: str | None) -> sp.csr_matrix:
        return self.vectorizer.transform([text or ""])

    def observe_request(
        self,
        conv_id: str,
        author: str,
        ts: datetime,
        text: str | None,
        topics: Iterable[str] = (),
        vec: sp.csr_matrix | None = None,
    ) -> None:
        """A conversation opens: its words enter the document frequencies, its topics
        the topic frequencies, and it becomes a neighbour for later similar requests."""
        vec = self.text_vector(text) if vec is None else vec
        topics = tuple(dict.fromkeys(topics))
        if conv_id in self.conv_pos:
            return
        self.conv_pos[conv_id] = len(self.conv_author)
        self.conv_author.append(author)
        self.conv_topics.append(topics)
        self.conv_answerers.append([])
        self.conv_vecs.add(self.conv_pos[conv_id], vec)
        self._conv_terms.append((vec.indices.copy(), vec.data.copy()))
        self.df[vec.indices] += 1
        self.n_docs += 1
        for t in topics:
            self.topic_df[t] += 1
        self.touch(author, ts)
        self._drop("idf", "profiles_csc", "convs_csc", "convs_sq")  # idf and conversations changed

    def touch(self, entity: str, ts: datetime) -> None:
        """Any activity of an entity (a question, a comment): it is around."""
        i = self.pos.get(entity)
        if i is not None:
            self.last_active[i] = max(self.last_active[i], _seconds(ts))

    def observe_response(
        self,
        conv_id: str,
        responder: str,
        ts: datetime,
        text: str | None,
        vec: sp.csr_matrix | None = None,
    ) -> None:
        """``responder`` answered conversation ``conv_id`` at ``ts``."""
        c = self.conv_pos.get(conv_id)
        if c is not None and self.conv_author[c] == responder:
            self.touch(responder, ts)
            return  # an author adding to their own conversation answers nobody
        i = self.candidate(responder)
        t = _seconds(ts)
        self._act[i] = self._act[i] * math.exp(-(t - self._act_t[i]) / self.tau) + 1.0
        self._act_t[i] = t
        self.answers[i] += 1
        self.last_active[i] = max(self.last_active[i], t)
        vec = self.text_vector(text) if vec is None else vec
        self.profiles.add(i, vec)
        if c is not None:
            self.profiles.add(i, self._conv_terms[c])
            for topic in self.conv_topics[c]:
                self.topic_w[topic][i] += 1.0
            if i not in self.conv_answerers[c]:
                if not self.conv_answerers[c]:
                    self._answered_convs.append(c)
                self.conv_answerers[c].append(i)
            self.exchanges[self.conv_author[c]][i] += 1.0
        self._drop("profiles_csc", "profiles_sq", "topic_arrays", "convs_csc", "answered")

    def observe_accept(self, conv_id: str, answerer: str) -> None:
        """The author accepted (or acknowledged) ``answerer``'s answer: it counts more."""
        i = self.pos.get(answerer)
        c = self.conv_pos.get(conv_id)
        if i is None:
            return
        self.good[i] += 1
        self._drop("kinds", "topic_arrays")
        if c is not None:
            for topic in self.conv_topics[c]:
                self.topic_w[topic][i] += self.policy.accepted_bonus

    def observe_exchange(self, a: str, b: str, n: float = 1.0) -> None:
        """``a`` and ``b`` exchanged a message (a comment, a reply): a tie without ``ties``."""
        if a == b:
            return
        if b in self.pos:
            self.exchanges[a][self.pos[b]] += n
        if a in self.pos:
            self.exchanges[b][self.pos[a]] += n

    def set_tie(self, author: str, candidate: str, strength: float) -> None:
        """Tie strength in [0, 1] from the relationships stage (overrides exchanges)."""
        self.tie_strength[author][self.candidate(candidate)] = float(strength)

    def set_load(self, entity: str, open_items: float) -> None:
        self.load[self.candidate(entity)] = float(open_items)

    # -- scoring --------------------------------------------------------------------------
    def _idf(self) -> np.ndarray:
        if "idf" not in self._cache:
            self._cache["idf"] = np.log((1.0 + self.n_docs) / (1.0 + self.df)) + 1.0
        return self._cache["idf"]

    def freeze(self) -> ResponderIndex:
        """Precompute column-ordered, idf-weighted, normalised matrices for serving.

        A frozen index answers a text query by touching only the query's columns, which
        keeps a decision on 10,000 candidates and 100,000 conversations within
        milliseconds; any new evidence thaws it (a replay never freezes).
        """
        idf = self._idf()
        answered = np.asarray(sorted(self._answered_convs), dtype=np.int64)
        self._answered_convs = answered.tolist()
        for key, rows, n, keep in (
            ("profiles", self.profiles, self._n(), None),
            ("convs", self.conv_vecs, len(self.conv_author), answered),
        ):
            m = rows.csr(n)
            if keep is not None:  # only conversations someone answered can point to answerers
                m = m[keep]
            m = m @ sp.diags(idf)
            norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            self._cache[f"{key}_csc"] = (sp.diags(1.0 / norms) @ m).tocsc()
        self._cache["topic_arrays"] = {
            t: (
                np.fromiter(col.keys(), dtype=np.int64, count=len(col)),
                np.fromiter(col.values(), dtype=float, count=len(col)),
            )
            for t, col in self.topic_w.items()
        }
        self.kinds()
        return self

    def _cosine(
        self, key: str, rows: _Rows, n_rows: int, cols: np.ndarray, qv: np.ndarray
    ) -> np.ndarray:
        """Cosine of every row of ``rows`` (idf-weighted) with the normalised query."""
        frozen = self._cache.get(f"{key}_csc")
        if frozen is not None:
            return np.asarray(frozen[:, cols] @ qv).ravel()
        m = rows.csr(n_rows)
        idf = self._idf()
        sq_key = f"{key}_sq"
        if sq_key not in self._cache:
            self._cache[sq_key] = m.multiply(m).tocsr()
        norms = np.sqrt(self._cache[sq_key] @ (idf * idf))
        norms[norms == 0] = 1.0
        w = np.zeros(N_FEATURES)
        w[cols] = qv * idf[cols]
        return (m @ w) / norms

    def _query(self, text: str | None, vec: sp.csr_matrix | None) -> tuple[np.ndarray, np.ndarray]:
        """The query's columns and its idf-weighted, L2-normalised values."""
        vec = self.text_vector(text) if vec is None else vec
        idf = self._idf()
        cols = vec.indices
        vals = vec.data * idf[cols]
        norm = math.sqrt(float(vals @ vals)) or 1.0
        return cols, vals / norm

    def rank(
        self,
        request: dict[str, Any],
        now: datetime,
        *,
        cap: int | None = None,
        limit: int | None = None,
        explain: int = 10,
        kinds: tuple[str, ...] | None = None,
        vec: sp.csr_matrix | None = None,
        comp: dict[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Every candidate but the author (or the best ``limit``), best first, with
        components, and reasons for the first ``explain``.

        ``request`` holds ``author``, ``text``, ``topics`` and optionally ``brands``
        (staff who serve another brand are left out). ``kinds`` keeps only candidates of
        those kinds (``staff``, ``community``, ``member``); ``comp`` reuses components
        already computed for the same request and moment.
        """
        comp = comp if comp is not None else self.components(request, now, cap=cap, vec=vec)
        rows, scores = self._order(comp, limit, kinds)
        kind = self.kinds()
        return pd.DataFrame(
            {
                "candidate": [self.ids[i] for i in rows],
                "score": np.round(scores, 4),
                **{k: comp[k][rows] for k in COMPONENTS},
                "kind": kind[rows],
                "reasons": [
                    self._reasons(i, comp, request) if r < explain else ""
                    for r, i in enumerate(rows)
                ],
            }
        )

    def score(self, comp: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted sum of the components (load counts against)."""
        w = self.policy.responder_weights
        total = np.zeros_like(comp["activity"])
        for k in COMPONENTS:
            weight = w.get(k, 0.0)
            if weight:
                total += (-weight if k == "load" else weight) * comp[k]
        return total

    def _order(
        self, comp: dict[str, np.ndarray], limit: int | None, kinds: tuple[str, ...] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the best candidates (best first; ties: the one seen first) and scores."""
        keep = comp["keep"]
        if kinds is not None:
            keep = keep & self._kind_mask(kinds)
        idx = np.flatnonzero(keep)
        if "_score" not in comp:
            comp["_score"] = self.score(comp)
        s = comp["_score"][idx]
        if limit is not None and limit < len(s) // 4:
            top = np.argpartition(-s, limit)[:limit] if limit else np.zeros(0, dtype=np.int64)
            order = top[np.lexsort((top, -s[top]))]
        else:
            order = np.argsort(-s, kind="stable")[:limit]
        return idx[order], s[order]

    def best(
        self,
        request: dict[str, Any],
        now: datetime,
        k: int,
        *,
        kinds: tuple[str, ...] | None = None,
        comp: dict[str, np.ndarray] | None = None,
    ) -> list[str]:
        """The ``k`` best candidates (of ``kinds``), ids only: the fast path for
        invitations and assignments."""
        comp = comp if comp is not None else self.components(request, now)
        rows, _ = self._order(comp, k, kinds)
        return [self.ids[i] for i in rows]

    def kinds(self) -> np.ndarray:
        """:meth:`kind` of every candidate (cached until roles or accepted answers change)."""
        n = self._n()
        got = self._cache.get("kinds")
        if got is None or len(got) != n:
            got = np.array([self.kind(i) for i in range(n)], dtype=object)
            self._cache["kinds"] = got
        return got

    def _kind_mask(self, kinds: tuple[str, ...]) -> np.ndarray:
        key = ("kind_mask", *kinds)
        got = self._cache.get(key)  # type: ignore[call-overload]
        kind = self.kinds()
        if got is None or len(got) != len(kind):
            got = np.fromiter((k in kinds for k in kind), dtype=bool, count=len(kind))
            self._cache[key] = got  # type: ignore[index]
        return got

    def kind(self, i: int) -> str:
        """``staff``, ``community`` (eligible for invitations) or ``member``."""
        p = self.policy
        role = self.role[i]
        if role in p.staff_roles:
            return "staff"
        if (
            role in p.community_roles
            or self.tier[i] in p.community_tiers
            or self.good[i] >= p.community_min_good_answers
        ):
            return "community"
        return "member"

    def components(
        self,
        request: dict[str, Any],
        now: datetime,
        *,
        cap: int | None = None,
        vec: sp.csr_matrix | None = None,
    ) -> dict[str, np.ndarray]:
        """Each component for every candidate (arrays over :attr:`ids`) and a ``keep`` mask."""
        n = self._n()
        t = _seconds(now)
        act = self._act[:n] * np.exp(-(t - self._act_t[:n]) / self.tau)
        activity = np.log1p(np.maximum(act, 0.0))

        topic = np.zeros(n)
        frozen_topics = self._cache.get("topic_arrays")
        for tp in dict.fromkeys(request.get("topics") or ()):
            if frozen_topics is not None:
                got = frozen_topics.get(tp)
                if got is None:
                    continue
                ii, vv = got
            else:
                col = self.topic_w.get(tp)
                if not col:
                    continue
                ii = np.fromiter(col.keys(), dtype=np.int64, count=len(col))
                vv = np.fromiter(col.values(), dtype=float, count=len(col))
            np.add.at(topic, ii, vv / math.log(2.0 + self.topic_df.get(tp, 0)))
        topic = np.log1p(topic)

        cols, qv = self._query(request.get("text"), vec)
        text = np.zeros(n)
        similar = np.zeros(n)
        if len(cols):
            text = self._cosine("profiles", self.profiles, n, cols, qv)
            if self._answered_convs:
                answered = self._cache.get("answered")
                if answered is None or len(answered) != len(self._answered_convs):
                    answered = np.asarray(self._answered_convs, dtype=np.int64)
                    self._cache["answered"] = answered
                sims = self._cosine("convs", self.conv_vecs, len(self.conv_author), cols, qv)
                if "convs_csc" not in self._cache:  # the frozen matrix holds answered rows only
                    sims = sims[answered]
                hit = np.flatnonzero(sims > 0)  # conversations sharing a word with this one
                if len(hit):
                    k = min(SIMILAR_K, len(hit))
                    top = hit[np.argpartition(-sims[hit], k - 1)[:k]]
                    for j in top:
                        for i in self.conv_answerers[answered[j]]:
                            similar[i] += sims[j]

        tie = np.zeros(n)
        author = request.get("author")
        ex = self.exchanges.get(author)
        if ex:
            ii = np.fromiter(ex.keys(), dtype=np.int64, count=len(ex))
            vv = np.fromiter(ex.values(), dtype=float, count=len(ex))
            tie[ii] = 1.0 - np.exp(-vv / 2.0)
        st = self.tie_strength.get(author)
        if st:
            ii = np.fromiter(st.keys(), dtype=np.int64, count=len(st))
            tie[ii] = np.fromiter(st.values(), dtype=float, count=len(st))

        since_h = (t - self.last_active[:n]) / 3600.0
        recent = np.where(
            np.isfinite(since_h), np.exp(-np.maximum(since_h, 0) / self.policy.recent_hours), 0.0
        )
        load = self.load[:n] / float(cap or self.policy.per_agent_cap)

        keep = np.ones(n, dtype=bool)
        if author in self.pos:
            keep[self.pos[author]] = False
        brands = list(request.get("brands") or ())
        if brands:
            if "brand" not in self._cache:
                self._cache["brand"] = np.array(self.brand, dtype=object)
            b = self._cache["brand"]
            keep &= (b == None) | np.isin(b, brands)  # noqa: E711 - elementwise
        return {
            "activity": activity,
            "topic": topic,
            "text": text,
            "similar": similar,
            "tie": tie,
            "recent": recent,
            "load": load,
            "keep": keep,
            "_act": act,
            "_since_h": since_h,
        }

    def _reasons(self, i: int, comp: dict[str, np.ndarray], request: dict[str, Any]) -> str:
        w = self.policy.responder_weights
        parts: list[tuple[float, str]] = []
        if comp["activity"][i] > 0:
            parts.append(
                (
                    w.get("activity", 0) * comp["activity"][i],
                    f"{int(self.answers[i])} answers ({comp['_act'][i]:.1f} recent-weighted)",
                )
            )
        if comp["topic"][i] > 0:
            mine = [t for t in request.get("topics") or () if self.topic_w.get(t, {}).get(i)]
            parts.append(
                (w.get("topic", 0) * comp["topic"][i], "answered on " + ", ".join(mine[:3]))
            )
        if comp["text"][i] > 0.05:
            parts.append(
                (
                    w.get("text", 0) * comp["text"][i],
                    f"text close to past answers ({comp['text'][i]:.2f})",
                )
            )
        if comp["similar"][i] > 0:
            parts.append(
                (
                    w.get("similar", 0) * comp["similar"][i],
                    f"answered similar conversations ({comp['similar'][i]:.2f})",
                )
            )
        if comp["tie"][i] > 0:
            parts.append(
                (w.get("tie", 0) * comp["tie"][i], f"tie with the author {comp['tie'][i]:.2f}")
            )
        if np.isfinite(comp["_since_h"][i]) and comp["_since_h"][i] < 48:
            parts.append(
                (
                    w.get("recent", 0) * comp["recent"][i] + 1e-6,
                    f"active {comp['_since_h'][i]:.0f} h ago",
                )
            )
        if comp["load"][i] > 0:
            parts.append((-1.0, f"load {int(self.load[i])}/{self.policy.per_agent_cap}"))
        if self.good[i]:
            parts.append((0.0, f"{int(self.good[i])} accepted"))
        parts.sort(key=lambda p: -p[0])
        return "; ".join(p[1] for p in parts[:4]) or "no evidence yet"

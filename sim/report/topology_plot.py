"""A drawing of a small cluster's graph: one row per tier, cluster at the top, instances at the bottom.

Instances are spread left to right in pool order (a gap between pools); every node above
sits at the mean position of its children, so each UltraServer, pod and spine group is
centred over what it joins. matplotlib (Agg) is imported only when a drawing is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

import networkx as nx

from sim.names import TIERS
from sim.topology import node_name

COLOURS = dict(zip(TIERS, ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"), strict=True))
POOL_GAP = 3.0  # instance widths between pools
LABEL_MAX = 24  # label a tier's nodes only when it has at most this many


def layout(graph: nx.DiGraph) -> dict[int, tuple[float, float]]:
    """x: instances in order, parents at the mean of their children; y: the tier's level."""
    by_tier: dict[str, list[int]] = {t: [] for t in TIERS}
    for node, tier in cast("Iterable[tuple[int, str]]", graph.nodes(data="tier")):  # not dicts, as the stubs say
        by_tier[tier].append(node)
    x: dict[int, float] = {}
    pos_x, last_pool = 0.0, None
    for node in sorted(by_tier["instance"], key=lambda n: (graph.nodes[n]["pool"], graph.nodes[n]["index"])):
        pool = graph.nodes[node]["pool"]
        if last_pool is not None and pool != last_pool:
            pos_x += POOL_GAP
        x[node] = pos_x
        pos_x += 1.0
        last_pool = pool
    for tier in TIERS[1:]:
        for node in by_tier[tier]:
            children = list(graph.successors(node))
            x[node] = sum(x[c] for c in children) / len(children) if children else 0.0
    return {n: (x[n], float(TIERS.index(graph.nodes[n]["tier"]))) for n in graph.nodes}


def draw(graph: nx.DiGraph, title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = layout(graph)
    by_tier: dict[str, list[int]] = {t: [] for t in TIERS}
    for node, tier in cast("Iterable[tuple[int, str]]", graph.nodes(data="tier")):  # not dicts, as the stubs say
        by_tier[tier].append(node)
    instances = max(len(by_tier["instance"]), 1)
    width = min(24.0, max(8.0, instances / 10))
    fig, ax = plt.subplots(figsize=(width, 5.5), dpi=110)
    nx.draw_networkx_edges(graph, pos, ax=ax, arrows=False, width=0.6, edge_color="#999999")
    for tier in TIERS:
        nodes = by_tier[tier]
        if not nodes:
            continue
        size = (30.0 if instances > 64 else 80.0) if tier == "instance" else 160.0
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, ax=ax, node_size=size,
                               node_color=COLOURS[tier], label=f"{tier} ({len(nodes):,})")
        if tier != "instance" and len(nodes) <= LABEL_MAX:
            nx.draw_networkx_labels(graph, {n: (pos[n][0], pos[n][1] + 0.22) for n in nodes},
                                    labels={n: node_name(graph, n) for n in nodes}, ax=ax, font_size=7)
    present = [t for t in TIERS if by_tier[t]]
    ax.set_yticks([TIERS.index(t) for t in present], present)
    ax.tick_params(left=False, bottom=False, labelbottom=False, labelleft=True)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_ylim(-0.5, len(TIERS) - 0.4)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, frameon=False, markerscale=0.6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

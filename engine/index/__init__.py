"""Embedding indexes on FAISS (string ids; L2 or cosine; flat, IVF, HNSW) and k-means."""

from __future__ import annotations

from .clustering import (
    KMeansResult,
    choose_num_clusters,
    cluster_representatives,
    kmeans,
    silhouette_score,
    silhouette_scores,
)
from .embedding_index import (
    AUTO_FLAT_MAX,
    INDEX_KINDS,
    METRICS,
    EmbeddingIndex,
    IndexKind,
    Metric,
    SearchResult,
    ivf_nlist,
)

__all__ = [
    "AUTO_FLAT_MAX",
    "EmbeddingIndex",
    "INDEX_KINDS",
    "IndexKind",
    "KMeansResult",
    "METRICS",
    "Metric",
    "SearchResult",
    "choose_num_clusters",
    "cluster_representatives",
    "ivf_nlist",
    "kmeans",
    "silhouette_score",
    "silhouette_scores",
]

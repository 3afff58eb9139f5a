/* txn.c - not written yet. */
typedef int av_placeholder_txn;

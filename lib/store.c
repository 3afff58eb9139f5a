/* store.c - not written yet. */
typedef int av_placeholder_store;

/* deb822.c - not written yet. */
typedef int av_placeholder_deb822;

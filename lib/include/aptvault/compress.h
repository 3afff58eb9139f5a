/*
 * compress.h - compressed index files assembled from cached pieces.
 *
 * Publishing writes Packages, Sources and Contents in several
 * compressions.  To republish incrementally, an index is cut into chunks
 * of text (about 100 KB, at stanza boundaries); each chunk is compressed
 * once into a self-contained *piece*, which can be cached by the chunk's
 * content, and a complete file is made by joining pieces in order:
 *
 *	for each chunk: av_comp_piece(c, &piece[i], chunk, len)
 *	av_comp_join(c, &file, pieces, n)
 *
 * Invariants:
 *  - The joined file decompresses to the chunks' concatenation with the
 *    system tools and with apt (which reads concatenated gzip members and
 *    zstd frames, but only the first xz stream and the first bzip2
 *    stream).
 *  - Output is deterministic: the same input gives the same bytes (no
 *    time stamps, names or thread counts are recorded), as long as zlib,
 *    liblzma, libzstd and libbz2 stay the same versions.  A piece made by
 *    another version still joins into a valid file.
 *  - Every function is thread-safe (no global state), so pieces can be
 *    made by worker threads; errors go to the calling thread's slot.
 *  - On failure, out is left as it was on entry.
 *
 * The pieces, per format:
 *
 *  AV_COMP_NONE  the chunk itself; join concatenates.
 *
 *  AV_COMP_GZ    one complete gzip member (RFC 1952): MTIME 0, no FNAME,
 *                XFL 0, OS 3 (unix), raw deflate at level 6, CRC32, ISIZE.
 *                Join concatenates; 0 pieces give one empty member.
 *
 *  AV_COMP_XZ    apt decodes xz without LZMA_CONCATENATED, so the file
 *                must be ONE xz stream: a piece is one xz Block (LZMA2,
 *                preset 6, CRC64 check) behind a 24-byte header that
 *                carries what the stream's index needs:
 *
 *                  0  4  magic "AVxz"
 *                  4  1  piece format version, 1
 *                  5  1  the block's check ID, 4 (CRC64)
 *                  6  2  zero
 *                  8  8  uncompressed size, little-endian
 *                 16  8  unpadded size of the block, little-endian
 *                 24     the block, padded: (unpadded + 3) & ~3 bytes
 *
 *                An empty chunk gives a piece with sizes 0 and no block.
 *                Join writes the stream header, the blocks in order, the
 *                index and the stream footer; it checks each header
 *                against the block's own header (which has a CRC32).
 *                0 pieces give a valid stream of zero blocks.
 *
 *  AV_COMP_ZST   one complete zstd frame (level 15, content size and
 *                XXH64 checksum recorded).  Join concatenates; 0 pieces
 *                give one empty frame.
 *
 *  AV_COMP_BZ2   bzip2 cannot be joined safely for every reader, so a
 *                piece is a whole bzip2 stream (block size 900k) and the
 *                caller compresses the whole index as ONE chunk: join
 *                accepts 0 pieces (the empty stream) or 1 piece (copied);
 *                more is AV_EINVALID.
 */
#ifndef AV_COMPRESS_H
#define AV_COMPRESS_H

#include <stddef.h>
#include "aptvault/buf.h"

typedef enum av_comp {
	AV_COMP_NONE = 0,
	AV_COMP_GZ,
	AV_COMP_XZ,
	AV_COMP_ZST,
	AV_COMP_BZ2,
} av_comp;

/* A borrowed byte range: one piece given to av_comp_join. */
typedef struct av_comp_span {
	const void *ptr;
	size_t len;
} av_comp_span;

/* The file name suffix: "", ".gz", ".xz", ".zst", ".bz2" ("" if unknown). */
const char *av_comp_ext(av_comp c);

/* "none", "gz"/"gzip", "xz", "zst"/"zstd", "bz2"/"bzip2"; anything else
 * is AV_EINVALID. */
int av_comp_parse(av_comp *out, const char *name);

/* Compress one chunk into a self-contained piece, appended to out. */
int av_comp_piece(av_comp c, av_buf *out, const void *data, size_t len);

/* Join pieces made by av_comp_piece (same c, in order) into a complete
 * file, appended to out.  A piece that is not of format c is AV_EINVALID. */
int av_comp_join(av_comp c, av_buf *out, const av_comp_span *pieces, size_t n);

/*
 * Decompress a whole file, appended to out; more than max bytes of output
 * is AV_EINVALID.  Strict, for verification: truncated, corrupt or
 * trailing data is AV_EINVALID, and an xz file must be a single stream
 * (what apt reads).  Concatenated gzip members and zstd frames are read.
 */
int av_comp_decompress(av_comp c, av_buf *out, const void *data, size_t len,
		       size_t max);

#endif

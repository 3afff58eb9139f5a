/* failpoint.c - injected failures for tests (see failpoint.h). */
#include <pthread.h>
#include "aptvault/failpoint.h"
#include "internal.h"

#define FAILPOINT_SLOTS 32
#define FAILPOINT_NAME_MAX 64

/* Hit counts of the failpoints named in the environment. */
static struct {
	char name[FAILPOINT_NAME_MAX];
	unsigned long hits;
} slots[FAILPOINT_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* Count one hit of name and return the new count. */
static unsigned long count_hit(const char *name)
{
	unsigned long hits = 0;
	size_t n = strlen(name);

	if (n >= FAILPOINT_NAME_MAX)
		return 0;
	pthread_mutex_lock(&slots_lock);
	for (size_t i = 0; i < FAILPOINT_SLOTS; i++) {
		if (!slots[i].name[0])
			memcpy(slots[i].name, name, n + 1);
		if (!strcmp(slots[i].name, name)) {
			hits = ++slots[i].hits;
			break;
		}
	}
	pthread_mutex_unlock(&slots_lock);
	return hits;
}

/* Is name listed in spec? *nth gets N of "name=N", 0 for a plain name. */
static int listed(const char *spec, const char *name, unsigned long *nth)
{
	size_t n = strlen(name);

	for (const char *p = spec; *p; ) {
		size_t len = strcspn(p, ",");
		if (len >= n && !strncmp(p, name, n) &&
		    (len == n || p[n] == '=')) {
			*nth = len == n ? 0 : strtoul(p + n + 1, NULL, 10);
			return 1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int av_failpoint(const char *name)
{
	const char *spec = getenv("APTVAULT_FAILPOINTS");
	unsigned long nth, hits;

	if (!spec || !*spec || !listed(spec, name, &nth))
		return 0;
	hits = count_hit(name);
	return nth == 0 || hits == nth;
}

void av_failpoint_reset(void)
{
	pthread_mutex_lock(&slots_lock);
	memset(slots, 0, sizeof(slots));
	pthread_mutex_unlock(&slots_lock);
}

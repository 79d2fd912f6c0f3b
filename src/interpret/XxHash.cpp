// xxHash's functions compiled here from its header (which holds the whole library) rather than
// loaded from libxxhash.so: every command starts with one shared library fewer to map and
// relocate (issue #13). -march=native picks its widest vector code, as the library's dispatch did.
#define XXH_STATIC_LINKING_ONLY
#define XXH_IMPLEMENTATION
#include <xxhash.h>

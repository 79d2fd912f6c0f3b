#include "core/Module.h"
#include "models/StretchModule.h"

namespace soundstar::models::stretch {

const Api& api() {
    static const Api* table = core::moduleFunction<ApiFn>("stretch", kApiSymbol)();
    return *table;
}

}  // namespace soundstar::models::stretch

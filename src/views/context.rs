//! What a page needs of its request besides its handler's arguments: the header's user
//! menu, and where to come back to after signing in. The web layer sets it for the time a
//! request is handled (`scope`); views read it (`current`), so no view reaches up for it.

use std::future::Future;
use std::sync::Arc;

use crate::accounts::sessions::SessionUser;

#[derive(Debug, Clone, Default)]
pub struct PageContext {
    pub user: Option<Arc<SessionUser>>,
    pub path_and_query: String,
}

tokio::task_local! {
    /// The request's page context while its handler runs.
    static PAGE: PageContext;
}

/// Runs `handler` with `context` as the page context of everything it renders.
pub async fn scope<F: Future>(context: PageContext, handler: F) -> F::Output {
    PAGE.scope(context, handler).await
}

/// The page context of the request being handled (empty outside one, as in unit tests).
pub fn current() -> PageContext {
    PAGE.try_with(Clone::clone).unwrap_or_default()
}

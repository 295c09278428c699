//! The real name nearest to one the model wrote wrong (`search_issue` for `search_issues`), so
//! an error can say what to write instead.

use strsim::normalized_damerau_levenshtein;

/// How alike two names must be, from 0 to 1, for one to be suggested for the other.
const ALIKE: f64 = 0.6;

/// The name among `candidates` nearest to `wrong`, if one is near enough: alike in spelling
/// (case aside), or one containing the other.
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let lower = candidate.to_lowercase();
            let contains = lower.contains(&wrong) || wrong.contains(&lower);
            let score = normalized_damerau_levenshtein(&wrong, &lower);
            (candidate, if contains { score.max(ALIKE) } else { score })
        })
        .filter(|(_, score)| *score >= ALIKE)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(candidate, _)| candidate)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_near_name_is_suggested_and_a_far_one_is_not() {
        let names = ["search_issues", "get_issue", "list_comments"];
        assert_eq!(nearest("search_issue", names), Some("search_issues"));
        assert_eq!(nearest("getIssue", names), Some("get_issue"));
        assert_eq!(nearest("comments", names), Some("list_comments"));
        assert_eq!(nearest("delete_repository", names), None);
        assert_eq!(nearest("githb", ["github", "inventory"]), Some("github"));
    }
}

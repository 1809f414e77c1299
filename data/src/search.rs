//! Search terms: what contact names, numbers and message texts are found by.
//!
//! Terms are lower-cased, accent-folded words ("Conceição" -> "conceicao"); a query term
//! matches every indexed term it is a prefix of, so search works as the user types. Numbers
//! are indexed with their trailing digits too, because people search a phone number by
//! its end.

/// Shortest term worth indexing or searching.
pub const MIN_TERM: usize = 2;
/// Longest term kept; longer words are cut (nobody types more to find them).
pub const MAX_TERM: usize = 24;
/// Shortest number suffix indexed.
const MIN_NUMBER_SUFFIX: usize = 4;

/// The distinct terms of `text`.
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(fold)
        .filter(|w| w.chars().count() >= MIN_TERM)
        .map(|w| w.chars().take(MAX_TERM).collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The terms of a phone number: the whole number and its trailing digits.
pub fn number_terms(number: &str) -> Vec<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let mut out: Vec<String> = (0..digits.len().saturating_sub(MIN_NUMBER_SUFFIX - 1))
        .map(|start| digits[start..].chars().take(MAX_TERM).collect())
        .collect();
    out.dedup();
    out
}

/// Lower-cases and strips the accents of Portuguese and Spanish letters.
pub fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_deduplicated() {
        assert_eq!(
            terms("Olá, CONCEIÇÃO! olá a pedido-123"),
            vec!["123", "conceicao", "ola", "pedido"]
        );
    }

    #[test]
    fn numbers_are_found_by_their_end() {
        let t = number_terms("5511987654321");
        assert!(t.contains(&"5511987654321".to_string()));
        assert!(t.contains(&"4321".to_string()));
        assert!(!t.contains(&"321".to_string()));
    }
}

//! Search terms: what contact names, numbers and message texts are found by.
//!
//! Terms are lower-cased, accent-folded words ("Conceição" -> "conceicao"); a query term
//! matches every indexed term it is a prefix of, so search works as the user types. Numbers
//! are indexed with their trailing digits too, because people search a phone number by
//! its end.

use std::collections::HashSet;

use crate::keys::read_u64;
use crate::{Chat, ChatFilter, ChatId, ChatPage, Result, Store};

/// Search index entries read per query term.
const MAX_TERM_HITS: usize = 10_000;
/// Up to this many chats found, they are read and sorted; beyond, the chats are walked
/// by last activity until a page is full (at this density a page is found quickly).
const FEW_HITS: usize = 2_000;
/// A query term that begins at most this many indexed words is looked up word by word in
/// each chat walked; more, and its index entries are read.
const MAX_WORDS: usize = 16;
/// Chats walked by last activity, per chat wanted, before a search reads the index
/// entries instead (its words are rare).
const WALK_PER_WANTED: usize = 10;

impl Store {
    /// A page of the chats whose contact or messages have every word of `query`.
    pub(crate) fn search_chats(&self, query: &str, filter: &ChatFilter) -> Result<ChatPage> {
        let mut terms = terms(query);
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= MIN_TERM && !terms.contains(&digits) {
            terms.push(digits);
        }
        let skip = filter.cursor.as_deref().and_then(read_u64).unwrap_or(0) as usize;
        let wanted = skip.saturating_add(filter.limit).saturating_add(1);
        let chats = match self.walk_for_words(&terms, filter, wanted)? {
            Some(chats) => chats,
            None => self.chats_by_hits(&terms, filter, wanted)?,
        };
        let more = chats.len() > skip.saturating_add(filter.limit);
        let chats: Vec<Chat> = chats.into_iter().skip(skip).take(filter.limit).collect();
        let next = skip.saturating_add(chats.len()) as u64;
        Ok(ChatPage {
            chats,
            next_cursor: more.then(|| next.to_be_bytes().to_vec()),
        })
    }

    /// Common words, found fast whatever the number of chats: walks the chats by last
    /// activity and looks each term's words up in each, until `wanted` chats match. `None`
    /// when a term begins too many words, or when the walk ends its budget with too few
    /// chats (rare words: their index entries are fewer to read).
    fn walk_for_words(
        &self,
        terms: &[String],
        filter: &ChatFilter,
        wanted: usize,
    ) -> Result<Option<Vec<Chat>>> {
        let mut words = Vec::new();
        for term in terms {
            match self.words_beginning(term)? {
                Some(found) if !found.is_empty() => words.push(found),
                Some(_) => return Ok(Some(Vec::new())),
                None => return Ok(None),
            }
        }
        if words.is_empty() {
            // Nothing searchable in the query (too short): nothing is found.
            return Ok(Some(Vec::new()));
        }
        let search = &self.trees().search;
        // The chat has, for every term, one of the words it begins.
        let has_all = |id: &[u8]| -> Result<bool> {
            for term_words in &words {
                let mut any = false;
                for word in term_words {
                    if search.contains_key([word.as_slice(), &[0], id].concat())? {
                        any = true;
                        break;
                    }
                }
                if !any {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let mut chats = Vec::new();
        let budget = wanted.saturating_mul(WALK_PER_WANTED);
        let mut walked = 0;
        for entry in self.trees().by_time.iter().rev().take(budget) {
            walked += 1;
            let (key, _) = entry?;
            let id = &key[key.len().saturating_sub(8)..];
            if !has_all(id)? {
                continue;
            }
            if let Some(chat) = self.chat(ChatId(read_u64(id).unwrap_or(0)))? {
                if filter.matches(&chat) {
                    chats.push(chat);
                    if chats.len() >= wanted {
                        return Ok(Some(chats));
                    }
                }
            }
        }
        // Every chat walked: the answer is whole.
        Ok((walked < budget).then_some(chats))
    }

    /// The indexed words `term` begins, if there are at most [`MAX_WORDS`].
    fn words_beginning(&self, term: &str) -> Result<Option<Vec<Vec<u8>>>> {
        let search = &self.trees().search;
        let mut words = Vec::new();
        let mut from = term.as_bytes().to_vec();
        while let Some(entry) = search.range(from.clone()..).next() {
            let (key, _) = entry?;
            let Some(end) = key.iter().position(|b| *b == 0) else {
                break;
            };
            if !key[..end].starts_with(term.as_bytes()) {
                break;
            }
            if words.len() == MAX_WORDS {
                return Ok(None);
            }
            // Past every entry of this word: the word, then a byte above the separator.
            from = [&key[..end], &[1]].concat();
            words.push(key[..end].to_vec());
        }
        Ok(Some(words))
    }

    /// Reads each term's index entries (the newest [`MAX_TERM_HITS`]) and keeps the chats
    /// in all of them, newest activity first: few are read and sorted, many are picked
    /// from the chats walked by last activity.
    fn chats_by_hits(
        &self,
        terms: &[String],
        filter: &ChatFilter,
        wanted: usize,
    ) -> Result<Vec<Chat>> {
        let mut found: Option<HashSet<u64>> = None;
        for term in terms {
            // From the end of the key range: for a whole word, the newest chats first.
            let hits: HashSet<u64> = self
                .trees()
                .search
                .scan_prefix(term.as_bytes())
                .rev()
                .take(MAX_TERM_HITS)
                .filter_map(|e| e.ok().and_then(|(k, _)| read_u64(&k[k.len() - 8..])))
                .collect();
            found = Some(match found {
                Some(prev) => prev.intersection(&hits).copied().collect(),
                None => hits,
            });
        }
        let found = found.unwrap_or_default();
        let mut chats = Vec::new();
        if found.len() <= FEW_HITS {
            for id in found {
                if let Some(chat) = self.chat(ChatId(id))?.filter(|c| filter.matches(c)) {
                    chats.push(chat);
                }
            }
            chats.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        } else {
            // A common word: walk the chats by last activity until the page is full,
            // rather than reading every chat that has the word.
            for entry in self.trees().by_time.iter().rev() {
                let (key, _) = entry?;
                let Some(id) = read_u64(&key[key.len() - 8..]) else {
                    continue;
                };
                if !found.contains(&id) {
                    continue;
                }
                if let Some(chat) = self.chat(ChatId(id))?.filter(|c| filter.matches(c)) {
                    chats.push(chat);
                    if chats.len() >= wanted {
                        break;
                    }
                }
            }
        }
        Ok(chats)
    }
}

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

impl crate::Store {
    /// The messages of one chat whose text, caption or file name holds every word of `q`
    /// (any case, accents ignored; a word may be the start of one), oldest first, the
    /// newest `limit` at most. Not the team's activity lines.
    pub fn search_chat_messages(
        &self,
        chat: crate::ChatId,
        q: &str,
        limit: usize,
    ) -> crate::Result<Vec<crate::Message>> {
        let words: Vec<String> = q.split_whitespace().map(fold).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        self.chat_messages_where(chat, limit, |message| {
            let filename = message.media.as_ref().and_then(|m| m.filename.as_deref());
            let haystack = [
                message.text.as_deref(),
                message.caption.as_deref(),
                filename,
            ]
            .into_iter()
            .flatten()
            .map(fold)
            .collect::<Vec<_>>()
            .join(" ");
            message.kind != "activity" && words.iter().all(|w| haystack.contains(w.as_str()))
        })
    }

    /// The newest `limit` messages of a chat that `keep` keeps, oldest first.
    pub fn chat_messages_where(
        &self,
        chat: crate::ChatId,
        limit: usize,
        keep: impl Fn(&crate::Message) -> bool,
    ) -> crate::Result<Vec<crate::Message>> {
        let mut found = Vec::new();
        for entry in self.trees().messages.scan_prefix(chat.key()).rev() {
            let message: crate::Message = crate::store::decode(&entry?.1)?;
            if keep(&message) {
                found.push(message);
                if found.len() >= limit {
                    break;
                }
            }
        }
        found.reverse();
        Ok(found)
    }
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

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::{Contact, ContactId, Write};

    /// `n` chats whose contacts are named by `name(i)`, the last the most recent.
    fn store_with(n: u64, name: impl Fn(u64) -> String) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let start = chrono::Utc::now();
        for i in 0..n {
            let at = start + chrono::Duration::seconds(i as i64);
            let mut contact = Contact::new(ContactId(i + 10_000), "n", at);
            contact.wa_id = Some(format!("5511{i:09}"));
            contact.name = Some(name(i));
            let chat = Chat::new(ChatId(i + 1), contact.id, "n", at);
            let mut write = Write::default();
            write
                .chat(None, &chat)
                .contact(&contact)
                .contact_terms(&contact, chat.id);
            store.commit(write).unwrap();
        }
        (dir, store)
    }

    fn found(store: &Store, query: &str, limit: usize) -> Vec<u64> {
        let filter = ChatFilter {
            search: Some(query.into()),
            limit,
            ..Default::default()
        };
        let page = store.chats(&filter).unwrap();
        page.chats.iter().map(|c| c.id.0).collect()
    }

    #[test]
    fn common_words_are_walked_and_rare_ones_read_from_the_index() {
        // Beyond the walk's budget for a page of 10 (110 chats).
        let (_dir, store) = store_with(400, |i| match i {
            7 => "Ana Rara".into(),
            i if i % 2 == 0 => format!("Ana Comum{}", i % 4),
            i => format!("Bia Comum Cor{}", i % 40),
        });
        // A common word (the start of five): the newest first.
        assert_eq!(found(&store, "comum", 3), [400, 399, 398]);
        // Two words: only the chats with both.
        assert_eq!(found(&store, "ana comum", 2), [399, 397]);
        // A rare word, far behind the newest chats.
        assert_eq!(found(&store, "rara", 10), [8]);
        // The start of forty words ("cor0" ... "cor39").
        assert_eq!(found(&store, "cor", 2), [400, 398]);
        assert!(found(&store, "nada", 10).is_empty());
        // Nothing long enough to search by.
        assert!(found(&store, "a ?", 10).is_empty());
    }
}

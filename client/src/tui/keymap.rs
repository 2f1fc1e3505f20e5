//! Which key whacks which hole: the numeric keypad layout and the `qwe/asd/zxc`
//! block, both mirroring the 3×3 board (holes numbered row by row from the top left).

/// The hole a key whacks, if it is a board key.
pub fn hole_for_key(c: char) -> Option<u8> {
    let hole = match c.to_ascii_lowercase() {
        '7' | 'q' => 0,
        '8' | 'w' => 1,
        '9' | 'e' => 2,
        '4' | 'a' => 3,
        '5' | 's' => 4,
        '6' | 'd' => 5,
        '1' | 'z' => 6,
        '2' | 'x' => 7,
        '3' | 'c' => 8,
        _ => return None,
    };
    Some(hole)
}

/// The two keys shown on a hole, numpad first.
pub fn keys_for_hole(hole: u8) -> (char, char) {
    const NUMPAD: [char; 9] = ['7', '8', '9', '4', '5', '6', '1', '2', '3'];
    const LETTERS: [char; 9] = ['q', 'w', 'e', 'a', 's', 'd', 'z', 'x', 'c'];
    let i = usize::from(hole.min(8));
    (NUMPAD[i], LETTERS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_map_row_by_row_from_the_top_left() {
        let numpad: Vec<_> = "789456123".chars().map(hole_for_key).collect();
        let letters: Vec<_> = "qweasdzxc".chars().map(hole_for_key).collect();
        let expected: Vec<_> = (0..9).map(Some).collect();
        assert_eq!(numpad, expected);
        assert_eq!(letters, expected);
        assert_eq!(hole_for_key('Q'), Some(0), "caps lock still plays");
        assert_eq!(hole_for_key('0'), None);
        assert_eq!(hole_for_key('r'), None);
    }

    #[test]
    fn labels_round_trip() {
        for hole in 0..9 {
            let (n, l) = keys_for_hole(hole);
            assert_eq!(hole_for_key(n), Some(hole));
            assert_eq!(hole_for_key(l), Some(hole));
        }
    }
}

namespace Cria.Guard.Detectors;

/// <summary>The check digits that tell a card number or an IBAN from any other run of digits.</summary>
internal static class Checksums
{
    /// <summary>Luhn (ISO/IEC 7812-1 annex B) over the digits of <paramref name="digits"/>.</summary>
    public static bool Luhn(ReadOnlySpan<char> digits)
    {
        int sum = 0;
        bool twice = false;
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            int d = digits[i] - '0';
            if (twice)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }
            sum += d;
            twice = !twice;
        }
        return sum % 10 == 0;
    }

    /// <summary>ISO 13616 mod-97: the first four characters moved to the end, letters as 10–35, the number mod 97 is 1.</summary>
    public static bool Iban(ReadOnlySpan<char> iban)
    {
        if (iban.Length < 5)
        {
            return false;
        }
        int remainder = 0;
        for (int k = 0; k < iban.Length; k++)
        {
            char c = iban[(k + 4) % iban.Length];
            if (c is >= '0' and <= '9')
            {
                remainder = ((remainder * 10) + (c - '0')) % 97;
            }
            else if (c is >= 'A' and <= 'Z')
            {
                remainder = ((remainder * 100) + (c - 'A' + 10)) % 97;
            }
            else
            {
                return false;
            }
        }
        return remainder == 1;
    }

    /// <summary>Payment card issuer ranges (IIN prefixes) and their lengths: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro.</summary>
    public static bool IsCardPrefix(ReadOnlySpan<char> d)
    {
        int n = d.Length;
        int p2 = ((d[0] - '0') * 10) + (d[1] - '0');
        int p3 = (p2 * 10) + (d[2] - '0');
        int p4 = (p3 * 10) + (d[3] - '0');
        if (d[0] == '4')
        {
            return n is 13 or 16 or 19; // Visa
        }
        if (p2 is >= 51 and <= 55 || p4 is >= 2221 and <= 2720)
        {
            return n == 16; // Mastercard
        }
        if (p2 is 34 or 37)
        {
            return n == 15; // American Express
        }
        if (p4 == 6011 || p2 == 65 || p3 is >= 644 and <= 649 || p2 is 35 or 62)
        {
            return n is >= 16 and <= 19; // Discover, JCB, UnionPay
        }
        if (p2 is 36 or 38 or 39 || p3 is >= 300 and <= 305)
        {
            return n is >= 14 and <= 19; // Diners Club
        }
        if (p2 is 50 or (>= 56 and <= 58) || p2 is 63 or 67)
        {
            return n is >= 12 and <= 19; // Maestro
        }
        return false;
    }

    /// <summary>IBAN lengths by country (ISO 13616 registry, the common ones); 0 when the country is not listed.</summary>
    public static int IbanLength(ReadOnlySpan<char> country)
    {
        int i = IbanLengths.IndexOf(country, StringComparison.Ordinal);
        return i >= 0 && i % 5 == 0 ? int.Parse(IbanLengths.AsSpan(i + 2, 2), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    // Country code and length, five characters each ("DE22 ").
    private const string IbanLengths = "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SE24 SI19 SK24 SM27 TN24 TR26 UA29 VG24 XK20";
}

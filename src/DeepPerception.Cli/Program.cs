Console.WriteLine("deepperception");
